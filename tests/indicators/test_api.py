"""The API contract of issue 14: names kept exactly; bad input a 4xx with a Chinese
message and nothing saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.indicators.models import IndicatorValue
from tests import factories


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(IndicatorValue))


@pytest.fixture
def api(ind, client):
    return client, factories.bearer(client, ind.base1_coord)


def test_catalogue(ind, api):
    c, h = api
    body = c.get("/api/v1/indicators?year=2026", headers=h).get_json()
    assert len(body) == 10
    jal = next(i for i in body if i["code"] == "JAL")
    assert {"code", "name", "kind", "unit", "direction", "interval"} <= set(jal)
    assert (jal["kind"], jal["unit"], jal["direction"]) == ("rate", "%", "higher")
    assert jal["interval"] == {"low": 90, "high": None, "confirmed": False}
    days = next(i for i in body if i["code"] == "PJSLTS")
    assert (days["kind"], days["unit"], days["aggregate"]) == ("value", "天", "mean")
    assert next(i for i in body if i["code"] == "CQWJ")["interval"] is None


def test_post_then_read_rolled_up_and_compliance(ind, api, client):
    c, h = api
    t = ind.t
    resp = c.post(
        "/api/v1/indicator-values",
        headers=h,
        json={
            "unit_id": t.base1.id,
            "month": "2026-03",
            "values": [
                {"code": "JAL", "numerator": 1, "denominator": 10},
                {"code": "PJSLTS", "value": 30, "weight": 10},
            ],
        },
    )
    assert resp.status_code == 200 and resp.get_json() == {"added": 2, "changed": 0, "unchanged": 0}
    h2 = factories.bearer(client, ind.base2_coord)
    c.post(
        "/api/v1/indicator-values",
        headers=h2,
        json={
            "unit_id": t.base2.id,
            "month": "2026-03",
            "values": [{"code": "jal", "numerator": 80, "denominator": 100}],
        },
    )
    hi = factories.bearer(client, ind.inter_assigner)
    body = c.get(f"/api/v1/indicator-values?unit={t.inter1.id}&month=2026-03", headers=hi).get_json()
    jal = next(v for v in body["values"] if v["code"] == "JAL")
    assert (jal["numerator"], jal["denominator"], jal["reports"]) == (81, 110, 2)
    assert jal["value"] == pytest.approx(100 * 81 / 110)
    assert next(v for v in body["values"] if v["code"] == "TJCSL")["value"] is None
    comp = c.get(f"/api/v1/indicators/compliance?unit={t.inter1.id}&month=2026-03", headers=hi).get_json()
    units = {u["unit_id"]: u for u in comp["units"]}
    assert set(units) == {t.inter1.id, t.base1.id, t.base2.id}
    assert {"unit_id", "in_range", "with_interval", "rate"} <= set(units[t.base1.id])
    assert (units[t.base1.id]["in_range"], units[t.base1.id]["with_interval"]) == (1, 2)  # days in, JAL out
    assert units[t.base1.id]["outside"] == ["JAL"]
    # the same figures again: unchanged; a correction: changed
    again = c.post(
        "/api/v1/indicator-values",
        headers=h,
        json={
            "unit_id": t.base1.id,
            "month": "2026-03",
            "values": [{"code": "JAL", "numerator": 2, "denominator": 10}],
        },
    )
    assert again.get_json() == {"added": 0, "changed": 1, "unchanged": 0}
    assert (
        db.session.scalar(select(IndicatorValue.source).where(IndicatorValue.unit_id == t.base1.id).limit(1))
        == "api"
    )


@pytest.mark.parametrize(
    "values, month, status, message",
    [
        ([{"code": "JAL", "numerator": 1, "denominator": 0}], "2026-03", 400, "分母为 0"),
        ([{"code": "JAL", "numerator": 11, "denominator": 10}], "2026-03", 400, "大于分母"),
        ([{"code": "CQWJ", "value": -1}], "2026-03", 400, "0 到 1e12"),
        ([{"code": "CQWJ", "value": 1e300}], "2026-03", 400, "0 到 1e12"),
        ([{"code": "NOPE", "value": 1}], "2026-03", 400, "没有代码为“NOPE”的指标"),
        ([{"code": "JAL", "numerator": 1, "denominator": 2}], "2099-01", 400, "尚未到来"),
        ([{"code": "JAL", "numerator": 1, "denominator": 2}], "2026-13", 400, "月"),
        ([{"code": "JAL", "value": 50}], "2026-03", 400, "分子和分母"),
        (
            [
                {"code": "JAL", "numerator": 1, "denominator": 2},
                {"code": "JAL", "numerator": 1, "denominator": 2},
            ],
            "2026-03",
            400,
            "重复",
        ),
        ([], "2026-03", 400, "values"),
    ],
)
def test_bad_input_saves_nothing(ind, api, values, month, status, message):
    c, h = api
    good = [{"code": "GPFHL", "numerator": 1, "denominator": 100}]
    resp = c.post(
        "/api/v1/indicator-values",
        headers=h,
        json={"unit_id": ind.t.base1.id, "month": month, "values": (good + values) if values else []},
    )
    assert resp.status_code == status and message in resp.get_json()["error"], resp.get_json()
    assert _count() == 0


def test_another_courts_unit_is_hidden(ind, api):
    c, h = api
    for unit in (ind.t.base2, ind.t.inter2):
        resp = c.post(
            "/api/v1/indicator-values",
            headers=h,
            json={
                "unit_id": unit.id,
                "month": "2026-03",
                "values": [{"code": "JAL", "numerator": 1, "denominator": 2}],
            },
        )
        assert resp.status_code == 404
        assert c.get(f"/api/v1/indicator-values?unit={unit.id}", headers=h).status_code == 404
        assert c.get(f"/api/v1/indicators/compliance?unit={unit.id}", headers=h).status_code == 404
    assert _count() == 0
