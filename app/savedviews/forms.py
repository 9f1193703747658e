"""The sidebar's forms. The service checks the values; these carry them and the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField


class SaveViewForm(FlaskForm):
    list_key = HiddenField()
    query = HiddenField()
    name = StringField("名称")
    shared = BooleanField("共享给本单位")
    is_default = BooleanField("设为默认")


class EditViewForm(FlaskForm):
    name = StringField("名称")
    shared = BooleanField("共享给本单位")
    is_default = BooleanField("设为默认")
    version = HiddenField()


class DefaultForm(FlaskForm):
    """设为默认 / 取消默认 from the sidebar (`on=1` / `on=0`)."""

    on = BooleanField("设为默认", false_values=("", "0", "n", "false"))
    version = HiddenField()
