"""Monthly values: the grid, the API and the service refuse bad input with a Chinese
message and save nothing; a correction is journaled with the old value and its source;
a value somebody else saved meanwhile is a conflict, not overwritten."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.indicators.models import IndicatorValue
from app.journal import JournalEntry

MONTH = "2026-03"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(IndicatorValue))


def _grid(ind, unit, month=MONTH, **cells):
    """The form's fields: cells like JAL_numerator=95; the versions as the page has them."""
    data = {}
    for key, value in cells.items():
        code, field = key.split("__")
        data[f"{field}_{ind.by_code[code].id}"] = value
    return data


def _page_versions(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(version_\d+)" value="(\d+)"', html))


def test_the_grid_saves_and_a_correction_keeps_the_old_value(ind, as_user):
    c = as_user(ind.base1_coord)
    page = c.get(f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}")
    assert page.status_code == 200 and "结案率" in page.get_data(as_text=True)
    versions = _page_versions(page.get_data(as_text=True))
    resp = c.post(
        f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}",
        data={**versions, **_grid(ind, ind.t.base1, JAL__numerator="95", JAL__denominator="100")},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    v = db.session.scalar(select(IndicatorValue))
    assert (v.numerator, v.denominator, v.source, v.entered_by_id) == (95, 100, "form", ind.base1_coord.id)
    page = c.get(f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}").get_data(as_text=True)
    resp = c.post(
        f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}",
        data={**_page_versions(page), **_grid(ind, ind.t.base1, JAL__numerator="96", JAL__denominator="100")},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(IndicatorValue, v.id).numerator == 96
    entries = list(
        db.session.scalars(
            select(JournalEntry).where(JournalEntry.object_type == "IndicatorValue").order_by(JournalEntry.id)
        )
    )
    assert [e.action for e in entries] == ["indicator_value.add", "indicator_value.correct"]
    assert entries[1].before["numerator"] == 95 and entries[1].after["numerator"] == 96
    assert entries[1].actor_id == ind.base1_coord.id
    history = c.get(f"/indicators/values/{v.id}/history").get_data(as_text=True)
    assert "更正" in history and "95 / 100" in history and "96 / 100" in history


def test_a_value_saved_meanwhile_is_a_conflict(ind, as_user):
    c1, c2 = as_user(ind.base1_coord), as_user(ind.inter_assigner)
    url = f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}"
    stale = _page_versions(c1.get(url).get_data(as_text=True))
    fresh = _page_versions(c2.get(url).get_data(as_text=True))
    assert (
        c2.post(
            url, data={**fresh, **_grid(ind, ind.t.base1, JAL__numerator="90", JAL__denominator="100")}
        ).status_code
        == 302
    )
    resp = c1.post(
        url, data={**stale, **_grid(ind, ind.t.base1, JAL__numerator="10", JAL__denominator="100")}
    )
    assert resp.status_code == 409 and "已被他人修改" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(IndicatorValue.numerator)) == 90


@pytest.mark.parametrize(
    "cells, message",
    [
        ({"JAL__numerator": "5", "JAL__denominator": "0"}, "分母为 0"),
        ({"JAL__numerator": "120", "JAL__denominator": "100"}, "分子（120）大于分母（100）"),
        ({"JAL__numerator": "-1", "JAL__denominator": "100"}, "不能为负数"),
        ({"JAL__numerator": "5", "JAL__denominator": ""}, "须同时填写分子和分母"),
        ({"CQWJ__value": "-3"}, "不能为负数"),
        ({"CQWJ__value": "2.5"}, "须为整数"),
        ({"PJSLTS__value": "40"}, "须同时填写数值和结案数"),
        ({"JAL__numerator": "1e400", "JAL__denominator": "100"}, "超出范围"),
        ({"JAL__numerator": "abc", "JAL__denominator": "100"}, "须为数字"),
        ({"JAL__numerator": "1\x00", "JAL__denominator": "100"}, "空字符"),
        ({"JAL__numerator": "9" * 100000, "JAL__denominator": "100"}, "超出范围"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(ind, as_user, cells, message):
    c = as_user(ind.base1_coord)
    url = f"/indicators/values?unit={ind.t.base1.id}&month={MONTH}"
    versions = _page_versions(c.get(url).get_data(as_text=True))
    good = _grid(ind, ind.t.base1, GPFHL__numerator="1", GPFHL__denominator="100")  # would be fine alone
    resp = c.post(url, data={**versions, **good, **_grid(ind, ind.t.base1, **cells)})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert _count() == 0


def test_a_future_month_and_a_malformed_one_are_refused(ind, as_user):
    c = as_user(ind.base1_coord)
    resp = c.post(
        f"/indicators/values?unit={ind.t.base1.id}&month=2099-01",
        data=_grid(ind, ind.t.base1, JAL__numerator="1", JAL__denominator="2"),
    )
    assert resp.status_code in (302, 303) and _count() == 0
    page = c.get(f"/indicators/values?unit={ind.t.base1.id}&month=2099-01")
    assert page.status_code == 400 and "尚未到来" in page.get_data(as_text=True)
    page = c.get(f"/indicators/values?unit={ind.t.base1.id}&month=2026-13")
    assert page.status_code == 400 and "无法识别的月份" in page.get_data(as_text=True)


def test_who_may_enter_and_see_a_courts_values(ind, as_user):
    t = ind.t
    url = f"/indicators/values?unit={t.base1.id}&month={MONTH}"
    data = _grid(ind, t.base1, JAL__numerator="1", JAL__denominator="2")
    assert as_user(ind.base2_coord).get(url).status_code == 404  # a sibling court: hidden
    assert as_user(ind.base2_coord).post(url, data=data).status_code == 404
    assert as_user(ind.trib1_head).get(url).status_code == 404  # below it: hidden
    viewer = as_user(ind.inter_leader)  # above it, but not one who enters figures
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, data=data).status_code == 403
    assert _count() == 0


def test_a_value_for_a_level_the_indicator_does_not_apply_to(ind):
    from datetime import date

    from app.errors import ServiceError
    from app.indicators.values import save_values
    from app.timeutil import utcnow

    with pytest.raises(ServiceError, match="只适用于"):
        save_values(
            None,
            ind.t.trib1,
            MONTH,
            [(ind.by_code["JAL"], {"numerator": 1, "denominator": 2})],
            source="api",
            clear_blank=False,
            today=date(2026, 12, 1),
            now=utcnow(),
        )
    db.session.rollback()
    assert _count() == 0


def test_the_compliance_page_says_when_there_is_nothing_to_show(ind, as_user):
    from app.indicators.values import save_values as save
    from app.timeutil import utcnow

    trib = as_user(ind.trib1_head).get(f"/indicators/compliance?month={MONTH}").get_data(as_text=True)
    assert "人民法庭的审判质效数据计入所属基层法院" in trib
    base = as_user(ind.base1_coord)
    assert "尚无报送的质效指标数据" in base.get(f"/indicators/compliance?month={MONTH}").get_data(
        as_text=True
    )
    from datetime import date

    save(
        None,
        ind.t.base1,
        MONTH,
        [(ind.by_code["JAL"], {"numerator": 9, "denominator": 10})],
        source="api",
        clear_blank=False,
        today=date(2026, 12, 1),
        now=utcnow(),
    )
    db.session.commit()
    page = base.get(f"/indicators/compliance?month={MONTH}").get_data(as_text=True)
    assert 'data-testid="no-figures"' not in page and "90.00%" in page
