"""Form base: Chinese validator messages from WTForms' own translations, and the same
input hygiene as the API for every field of every form (app.textclean):

- text fields drop control characters other than newline and tab (NUL never gets
  here: the request is refused first, see app.security.hardening); passwords are
  taken exactly as typed;
- a multiple choice is always a list (empty when nothing could be read);
- integer choices (`coerce=int`) and integer fields fit the database's integer;
- numbers are finite (no NaN or infinity), dates lie between DATE_MIN and DATE_MAX;
- every validator message is Chinese (two WTForms lacks are filled in).
"""

from __future__ import annotations

import math
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import StopValidation

from app.textclean import DATE_MESSAGE, INT_MESSAGE, clean_input, date_in_range, db_int, fits_db_int
from app.timeutil import utcnow


def _clean_text(value: Any) -> Any:
    return clean_input(value) if isinstance(value, str) else value


def _none_is_empty(value: Any) -> Any:
    # A multiple choice whose values could not be read is "nothing chosen", never None
    # (the field's own validators report it, and views can always iterate the data).
    return [] if value is None else value


def _fits_integer(form: Any, field: Any) -> None:
    if isinstance(field.data, int) and not fits_db_int(field.data):
        raise StopValidation(INT_MESSAGE)


def _finite(form: Any, field: Any) -> None:
    if field.data is not None and not math.isfinite(field.data):
        raise StopValidation("请填写有效的数字。")


def _date_in_range(form: Any, field: Any) -> None:
    if not date_in_range(field.data):
        raise StopValidation(DATE_MESSAGE)


# Messages WTForms' zh translation lacks (the value itself is left out: it may be anything).
_MISSING_ZH = {
    "'%(value)s' is not a valid choice for this field.": "所选的值不在可选范围内，请重新选择。",
    "'%(value)s' are not valid choices for this field.": "所选的值不在可选范围内，请重新选择。",
}


class _Chinese:
    """WTForms' own Chinese translations, with the gaps above filled."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def gettext(self, string: str) -> str:
        return _MISSING_ZH.get(string) or self.base.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _MISSING_ZH.get(singular) or self.base.ngettext(singular, plural, n)


_CHECKS = (
    (IntegerField, _fits_integer),
    (FloatField | DecimalField, _finite),
    (DateField, _date_in_range),
)


class BaseForm(FlaskForm):
    class Meta:
        locales = ("zh_CN", "zh")

        def get_translations(self, form: Any) -> Any:
            return _Chinese(super().get_translations(form))

        def bind_field(self, form: Any, unbound_field: Any, options: dict) -> Any:
            """Add the hygiene above to each field as the form is built."""
            kind = unbound_field.field_class
            if unbound_field.kwargs.get("coerce") is int:
                options = {**options, "coerce": db_int}
            field = super().bind_field(form, unbound_field, options)
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
                field.filters = (*field.filters, _clean_text)
            if issubclass(kind, SelectMultipleField):
                field.filters = (*field.filters, _none_is_empty)
            checks = [check for kinds, check in _CHECKS if issubclass(kind, kinds)]
            if checks:
                field.validators = [*field.validators, *checks]
            return field


class VersionedForm(BaseForm):
    """A form over an object that can be edited concurrently (optimistic lock): it
    carries the version it was loaded at, which the service checks (a missing one is
    refused), and when it was loaded, so a conflict page can show what changed since."""

    version = HiddenField()
    loaded_at = HiddenField(default=lambda: utcnow().isoformat())
