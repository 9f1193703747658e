"""Text input hygiene on both databases: NUL is refused with a Chinese 400 anywhere in
a request (also before login), other control characters except newline and tab are
dropped from form text, and services apply the same rule to whatever reaches them."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.errors import ServiceError
from app.tasks.models import Project
from app.textclean import NUL_MESSAGE, clean_input, db_int, for_file
from app.validation import clean_text


def _is_nul_refusal(resp) -> bool:
    text = resp.get_json()["error"] if resp.is_json else resp.get_data(as_text=True)
    return resp.status_code == 400 and NUL_MESSAGE in text


def test_login_refuses_nul_before_anything_else(db, demo, client, net_unused):
    """Unauthenticated: the login form and the API's token endpoint."""
    assert _is_nul_refusal(client.post("/login", data={"username": "ad\x00min", "password": "x"}))
    assert _is_nul_refusal(client.post("/login", data={"username": "admin", "password": "Demo\x00"}))
    assert _is_nul_refusal(client.get("/login?next=/\x00"))
    resp = client.post("/api/v1/auth/token", json={"username": "admin\x00", "password": "x"})
    assert _is_nul_refusal(resp) and resp.is_json and resp.get_json()["error"] == NUL_MESSAGE


def test_nul_anywhere_in_a_request_is_refused(db, demo, as_user, net_unused):
    """Query value and name, form field value and name, a file name, a JSON string or key, a path."""
    c = as_user("bxzy")
    project_count = db.session.scalar(select(func.count()).select_from(Project))
    assert _is_nul_refusal(c.get("/assignments?q=\x00"))
    assert _is_nul_refusal(c.get("/assignments?q\x00=1"))
    form = {
        "name": "新项目\x00",
        "owner_unit_id": str(demo.benxi.id),
        "start": "2026-01-01",
        "end": "2026-12-31",
    }
    assert _is_nul_refusal(c.post("/projects/new", data=form))
    assert _is_nul_refusal(c.post("/projects/new", data={**form, "name": "新项目", "x\x00": "1"}))
    resp = c.post(
        "/imports/tasks",
        data={"file": (io.BytesIO(b"a,b\n"), "list\x00.csv")},
        content_type="multipart/form-data",
    )
    assert _is_nul_refusal(resp)
    body = json.dumps({"text": "进展\x00", "percent": 10})
    assert _is_nul_refusal(
        c.post("/api/v1/assignments/1/progress", data=body, content_type="application/json")
    )
    body = json.dumps({"te\x00xt": "进展"})
    assert _is_nul_refusal(
        c.post("/api/v1/assignments/1/progress", data=body, content_type="application/json")
    )
    assert c.get("/wall/abc%00def").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Project)) == project_count


def test_control_characters_are_dropped_from_form_text(db, demo, as_user, net_unused):
    """A vertical tab, bell and DEL in a project name are dropped; newline and tab stay."""
    c = as_user("bxzy")
    resp = c.post(
        "/projects/new",
        data={
            "name": "本溪\x0b专项\x07行动\x7f",
            "owner_unit_id": str(demo.benxi.id),
            "start": "2026-01-01",
            "end": "2026-12-31",
            "description": "第一行\r\n\t第二行\x1b[31m",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    p = db.session.scalar(select(Project).order_by(Project.id.desc()))
    assert p.name == "本溪专项行动"
    assert p.description == "第一行\n\t第二行[31m"


def test_form_integers_and_dates_that_do_not_fit_are_form_errors(db, demo, as_user, net_unused):
    """A unit id past the range, a date in year 9999 or 2026-02-30: a 400 with the form, nothing saved."""
    c = as_user("bxzy")
    count = db.session.scalar(select(func.count()).select_from(Project))
    base = {
        "name": "本溪专项",
        "owner_unit_id": str(demo.benxi.id),
        "start": "2026-01-01",
        "end": "2026-12-31",
    }
    for change in (
        {"owner_unit_id": str(2**64)},
        {"owner_unit_id": "9" * 5000},
        {"start": "9999-12-31"},
        {"end": "2026-02-30"},
        {"start": "2022年13月"},
    ):
        resp = c.post("/projects/new", data={**base, **change})
        assert resp.status_code == 400, (change, resp.status_code)
    assert db.session.scalar(select(func.count()).select_from(Project)) == count


def test_visit_form_with_an_empty_leader_choice_is_a_form_answer(db, demo, as_user, net_unused):
    """`leader_ids=""` used to be a TypeError (500): now the form's own answer, nothing saved."""
    from app.visits.models import Visit

    c = as_user("bxzy")
    count = db.session.scalar(select(func.count()).select_from(Visit))
    resp = c.post(
        "/visits/new",
        data={"leader_ids": "", "target_ids": "", "title": "走访", "planned_start": "2026-05-01"},
    )
    assert resp.status_code == 400, resp.status_code
    resp = c.post("/visits/new?organizer=" + str(2**64), data={"organizer_unit_id": "9" * 40})
    assert resp.status_code < 500
    assert db.session.scalar(select(func.count()).select_from(Visit)) == count


def test_service_text_rule_matches_the_forms():
    """clean_text (imports, the API, jobs): NUL refused, control characters dropped, limits kept."""
    with pytest.raises(ServiceError):
        clean_text("a\x00b", "标题", 10)
    assert clean_text(" a\x0bb\x1f\tc\n ", "标题", 10) == "ab\tc"
    with pytest.raises(ServiceError):
        clean_text("\x0b\x0c", "标题", 10)  # nothing left: required
    with pytest.raises(ServiceError):
        clean_text("长" * 11, "标题", 10)


def test_textclean_rules():
    """What input may hold, and what a file may hold."""
    assert clean_input("a\x01\x0b\x7f\x85b\n\tc") == "ab\n\tc"
    assert for_file("a\x0bb\x00c\ud800") == "a\ufffdb\ufffdc\ufffd"
    assert db_int("2147483647") == 2**31 - 1
    for bad in ("2147483648", "-2147483649", "9" * 5000, "1.5", "", True):
        with pytest.raises(ValueError):
            db_int(bad)


def test_every_form_field_gets_the_hygiene(app):
    """BaseForm itself (whatever the service does after): text cleaned, passwords as typed,
    integer choices and fields within the database's range, dates in range, numbers finite,
    a multiple choice always a list, every message Chinese."""
    from wtforms import (
        DateField,
        FloatField,
        IntegerField,
        PasswordField,
        SelectField,
        SelectMultipleField,
        StringField,
        TextAreaField,
    )

    from app.forms import BaseForm

    class Probe(BaseForm):
        title = StringField()
        body = TextAreaField()
        secret = PasswordField()
        unit = SelectField(coerce=int, choices={1: "一"})
        units = SelectMultipleField(coerce=int, choices={1: "一"})
        ids = SelectMultipleField(coerce=int, validate_choice=False)  # as the bulk actions' ids
        count = IntegerField()
        weight = FloatField()
        due = DateField()

    data = {
        "title": "标\x0b题\x1b",
        "body": "第一行\n\t第二行\x07",
        "secret": "pa\x0bss",
        "unit": str(2**31),
        "units": "2",
        "ids": ["1", str(2**40)],
        "count": str(2**40),
        "weight": "nan",
        "due": "9999-12-31",
    }
    with app.test_request_context(method="POST", data=data):
        form = Probe(meta={"csrf": False})
        assert not form.validate()
        assert form.title.data == "标题" and form.body.data == "第一行\n\t第二行"
        assert form.secret.data == "pa\x0bss"
        assert set(form.errors) == {"unit", "units", "ids", "count", "weight", "due"}
        for messages in form.errors.values():
            assert all(re.search(r"[\u4e00-\u9fff]", m) for m in messages), messages
    with app.test_request_context(method="POST", data={"units": ""}):
        form = Probe(meta={"csrf": False})
        form.validate()
        assert form.units.data == []
