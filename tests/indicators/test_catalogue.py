"""The catalogue: the high court's reviewers edit it, versioned by year; bad input is a
400 with a Chinese message; a stale form is a conflict; a new year starts as a copy."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.indicators.models import Indicator
from app.journal import JournalEntry

GOOD = {
    "code": "XSJAL",
    "name": "刑事案件结案率",
    "kind": "rate",
    "aggregate": "ratio",
    "direction": "higher",
    "interval_low": "95",
    "levels": ["intermediate", "base"],
    "weight": "1",
    "sort_order": "200",
}


def test_a_reviewer_adds_and_edits_an_indicator(ind, as_user):
    c = as_user(ind.reviewer)
    resp = c.post("/indicators/new?year=2026", data=GOOD)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    added = db.session.scalar(select(Indicator).where(Indicator.code == "XSJAL"))
    assert (added.unit_label, added.interval_low, added.interval_confirmed) == ("%", 95, False)
    page = c.get("/indicators?year=2026").get_data(as_text=True)
    assert "刑事案件结案率" in page and "示例值，待高院确认" in page
    form = c.get(f"/indicators/{added.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    resp = c.post(
        f"/indicators/{added.id}/edit",
        data={**GOOD, "interval_low": "96", "interval_confirmed": "y", "version": version},
    )
    assert resp.status_code == 302
    db.session.refresh(added)
    assert (added.interval_low, added.interval_confirmed) == (96, True)
    edit = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "indicator.edit"))
    assert edit.before["interval_low"] == 95 and edit.after["interval_low"] == 96
    # the same stale form again: a conflict, nothing changed
    stale = c.post(f"/indicators/{added.id}/edit", data={**GOOD, "interval_low": "10", "version": version})
    assert stale.status_code == 409
    db.session.refresh(added)
    assert added.interval_low == 96


@pytest.mark.parametrize(
    "change, message",
    [
        ({"code": "1abc"}, "代码须以字母开头"),
        ({"code": "JAL"}, "已有代码为“JAL”的指标"),
        ({"name": "名" * 100_000}, "100"),
        ({"interval_low": "abc"}, ""),
        ({"interval_low": "1e400"}, ""),
        ({"interval_low": "120"}, "0–100"),
        ({"interval_low": "50", "interval_high": "40"}, "下限不能大于上限"),
        ({"direction": "within", "interval_high": ""}, "同时填写上下限"),
        ({"weight": "-1"}, "0–100"),
        ({"levels": []}, "至少选择一个适用层级"),
        ({"kind": "value", "aggregate": "mean", "unit_label": "天"}, "权数是什么"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(ind, as_user, change, message):
    c = as_user(ind.reviewer)
    before = db.session.scalar(select(func.count()).select_from(Indicator))
    resp = c.post("/indicators/new?year=2026", data={**GOOD, **change})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Indicator)) == before


def test_only_reviewers_edit_and_a_year_is_copied(ind, as_user):
    assert as_user(ind.inter_assigner).post("/indicators/new?year=2026", data=GOOD).status_code == 403
    c = as_user(ind.reviewer)
    resp = c.post("/indicators/copy", data={"from_year": "2026", "to_year": "2027"})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Indicator).where(Indicator.year == 2027)) == 10
    again = c.post("/indicators/copy", data={"from_year": "2026", "to_year": "2027"}, follow_redirects=True)
    assert "已存在" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Indicator).where(Indicator.year == 2027)) == 10
