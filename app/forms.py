"""Form base: Chinese validator messages from WTForms' own translations."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class BaseForm(FlaskForm):
    class Meta:
        locales = ("zh_CN", "zh")


class VersionedForm(BaseForm):
    """A form over an object that can be edited concurrently (optimistic lock)."""

    version = HiddenField()
