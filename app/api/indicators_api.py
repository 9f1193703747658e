"""API: the indicator catalogue, monthly values (read rolled up, written per court),
compliance per court, and an assessment's results."""

from __future__ import annotations

from flask_login import current_user, login_required
from marshmallow import fields as f
from marshmallow import validate

from app import authz
from app.api import bp
from app.api.core import ApiError, Out, Schema, me, run
from app.api.fields import Id, Int, Period, Text
from app.errors import ServiceError
from app.indicators import compliance as comp
from app.indicators.assessments import published_run
from app.indicators.catalogue import catalogue
from app.indicators.models import Assessment, Indicator
from app.indicators.values import (
    catalogue_for,
    check_month,
    last_complete_month,
    rollup,
    save_values,
    value_of,
)
from app.org.models import Unit
from app.timeutil import local_today, utcnow

_NUM = {"allow_none": True}
MAX_VALUES = 200


def _default_month() -> str:
    return last_complete_month(local_today())


# ---------------------------------------------------------------- schemas


class IndicatorsQuery(Schema):
    year = Int(minimum=2000, maximum=2100, metadata={"description": "目录年度，默认今年"})


class IntervalOut(Out):
    low = f.Float(required=True, **_NUM)
    high = f.Float(required=True, **_NUM)
    confirmed = f.Boolean(required=True, metadata={"description": "false：示例值，待高院确认"})


class IndicatorOut(Out):
    code = f.String(required=True)
    name = f.String(required=True)
    kind = f.String(required=True, metadata={"enum": ["rate", "value"]})
    unit = f.String(required=True, metadata={"description": "计量单位：%、件、天"})
    direction = f.String(required=True, metadata={"enum": ["higher", "lower", "within"]})
    interval = f.Nested(IntervalOut, required=True, allow_none=True)
    aggregate = f.String(required=True, metadata={"enum": ["ratio", "sum", "mean"]})
    weight = f.Float(required=True)
    levels = f.List(f.String(), required=True)
    year = f.Integer(required=True)


class UnitMonthQuery(Schema):
    unit = Id(metadata={"description": "单位 ID，默认本单位"})
    month = Period(metadata={"description": "YYYY-MM，默认上月"})


class ValueOut(Out):
    code = f.String(required=True)
    value = f.Float(required=True, **_NUM)
    numerator = f.Float(required=True, **_NUM)
    denominator = f.Float(required=True, **_NUM)
    weight = f.Float(required=True, **_NUM)
    reports = f.Integer(required=True, metadata={"description": "汇总了几个法院本院报送的数"})


class ValuesOut(Out):
    unit_id = f.Integer(required=True)
    month = f.String(required=True)
    values = f.List(f.Nested(ValueOut), required=True)


_NUMBER = {
    "allow_none": True,
    "allow_nan": False,
    "validate": validate.Range(min=0, max=1e12, error="须在 0 到 1e12 之间。"),
    "error_messages": {
        "invalid": "须为数字。",
        "special": "须为有限的数字。",
        "too_large": "须在 0 到 1e12 之间。",
    },
}


class ValueIn(Schema):
    code = Text(required=True, blank=False, max_length=40)
    numerator = f.Float(**_NUMBER)
    denominator = f.Float(**_NUMBER)
    value = f.Float(**_NUMBER)
    weight = f.Float(**_NUMBER)


class ValuesIn(Schema):
    unit_id = Id(required=True)
    month = Period(required=True)
    values = f.List(
        f.Nested(ValueIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_VALUES, error=f"须为 1 到 {MAX_VALUES} 项的数组。"),
        error_messages={"invalid": "须为数组，每项为一个指标的数值对象。"},
    )


class SavedOut(Out):
    added = f.Integer(required=True)
    changed = f.Integer(required=True)
    unchanged = f.Integer(required=True)


class ComplianceUnitOut(Out):
    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    in_range = f.Integer(required=True)
    with_interval = f.Integer(required=True)
    rate = f.Float(required=True, **_NUM, metadata={"description": "达标率（%）"})
    score = f.Float(required=True, **_NUM, metadata={"description": "综合得分（0–100）"})
    outside = f.List(f.String(), required=True, metadata={"description": "不在参考区间的指标代码"})


class ComplianceOut(Out):
    month = f.String(required=True)
    units = f.List(f.Nested(ComplianceUnitOut), required=True)


class ResultRowOut(Out):
    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    rank = f.Integer(required=True, allow_none=True)
    score = f.Float(required=True, **_NUM)
    components = f.Dict(keys=f.String(), values=f.Float(allow_none=True), required=True)


class ResultsOut(Out):
    id = f.Integer(required=True)
    title = f.String(required=True)
    status = f.String(required=True, metadata={"enum": ["open", "computed", "published"]})
    version = f.Integer(required=True, allow_none=True, metadata={"description": "结果的版本（第几次计算）"})
    published = f.Boolean(required=True)
    scheme = f.Dict(keys=f.String(), values=f.Float(), required=True)
    rows = f.List(f.Nested(ResultRowOut), required=True)


# ---------------------------------------------------------------- endpoints


def _indicator_out(i: Indicator) -> dict:
    return {
        "code": i.code,
        "name": i.name,
        "kind": i.kind,
        "unit": i.unit_label,
        "direction": i.direction,
        "interval": (
            {"low": i.interval_low, "high": i.interval_high, "confirmed": i.interval_confirmed}
            if i.has_interval
            else None
        ),
        "aggregate": i.aggregate,
        "weight": i.weight,
        "levels": list(i.levels),
        "year": i.year,
    }


@bp.route("/indicators")
@login_required
@bp.doc(summary="质效指标目录（某年度）")
@bp.arguments(IndicatorsQuery, location="query")
@bp.response(200, IndicatorOut(many=True))
@bp.errors(400, 401, 403)
def indicator_list(args: dict):
    authz.require(current_user, "indicator.catalogue")
    return [_indicator_out(i) for i in catalogue(args.get("year") or local_today().year)]


def _unit_month(args: dict) -> tuple[Unit, str]:
    unit = authz.get_scoped_or_404(
        Unit, args.get("unit") or current_user.unit_id, "indicator.view", current_user
    )
    try:
        month = check_month(args.get("month") or _default_month(), local_today())
    except ServiceError as exc:
        raise ApiError(exc.message) from None
    return unit, month


@bp.route("/indicator-values")
@login_required
@bp.doc(
    summary="单位某月的质效指标数值（本院及全部下级汇总）",
    description="比率 = Σ分子 ÷ Σ分母（%）；件数求和；平均值按权数加权。没有任何法院报送的指标 value 为 null。",
)
@bp.arguments(UnitMonthQuery, location="query")
@bp.response(200, ValuesOut)
@bp.errors(400, 401, 403, 404)
def indicator_values(args: dict):
    unit, month = _unit_month(args)
    sums = rollup([unit.id], [month])
    out = []
    for i in catalogue_for(month):
        agg = sums.get((unit.id, i.id, month))
        rate = i.kind == "rate"
        out.append(
            {
                "code": i.code,
                "value": value_of(i, agg),
                "numerator": agg.numerator if agg and rate else None,
                "denominator": agg.denominator if agg and rate else None,
                "weight": agg.weight if agg and i.aggregate == "mean" else None,
                "reports": agg.reports if agg else 0,
            }
        )
    return {"unit_id": unit.id, "month": month, "values": out}


@bp.route("/indicator-values", methods=["POST"])
@login_required
@bp.doc(
    summary="报送单位某月本院的质效指标数值",
    description="比率报 numerator 与 denominator，数值报 value（加权平均的另报 weight）。全部检查通过才保存，"
    "任何一项有误则都不保存；更正已有的数会记入修改记录（来源：接口）。",
)
@bp.arguments(ValuesIn)
@bp.response(200, SavedOut)
@bp.errors(400, 401, 403, 404)
def indicator_values_save(args: dict):
    unit = authz.get_scoped_or_404(Unit, args["unit_id"], "indicator.enter", current_user)
    try:
        month = check_month(args["month"], local_today())
    except ServiceError as exc:
        raise ApiError(exc.message) from None
    by_code = {i.code: i for i in catalogue_for(month)}
    raw, seen = [], set()
    for v in args["values"]:
        code = v["code"].strip().upper()
        if code not in by_code:
            raise ApiError(f"{month[:4]} 年的指标目录中没有代码为“{v['code'][:40]}”的指标。")
        if code in seen:
            raise ApiError(f"指标“{code}”重复报送。")
        seen.add(code)
        raw.append((by_code[code], v))
    counts = run(
        lambda: save_values(
            me(), unit, month, raw, source="api", clear_blank=False, today=local_today(), now=utcnow()
        )
    )
    return {k: counts[k] for k in ("added", "changed", "unchanged")}


@bp.route("/indicators/compliance")
@login_required
@bp.doc(
    summary="质效指标达标情况：单位及其直属下级，每个单位按其下全部法院汇总",
    description="in_range：在参考区间内的指标数；with_interval：有参考区间且有数值的指标数；rate = in_range ÷ with_interval（%）。",
)
@bp.arguments(UnitMonthQuery, location="query")
@bp.response(200, ComplianceOut)
@bp.errors(400, 401, 403, 404)
def indicator_compliance(args: dict):
    unit, month = _unit_month(args)
    rows = comp.compliance([unit, *comp.child_units(unit)], month)
    return {
        "month": month,
        "units": [
            {
                "unit_id": r.unit_id,
                "name": r.name,
                "in_range": r.in_range,
                "with_interval": r.with_interval,
                "rate": None if r.rate is None else round(r.rate, 2),
                "score": None if r.score is None else round(r.score, 2),
                "outside": [x.indicator.code for x in r.figures if x.inside is False],
            }
            for r in rows
        ],
    }


@bp.route("/assessments/<int:assessment_id>/results")
@login_required
@bp.doc(
    summary="考评结果：已发布的版本（考评单位的强基办在发布前可看到最新计算的版本）",
    description="发布后的结果冻结，不随数据变化；重新计算产生新版本。",
)
@bp.response(200, ResultsOut)
@bp.errors(401, 403, 404)
def assessment_results(assessment_id: int):
    a = authz.get_scoped_or_404(Assessment, assessment_id, "assessment.view", current_user)
    run_ = published_run(a)
    if run_ is None and authz.can(current_user, "assessment.recompute", a) and a.runs:
        run_ = a.runs[-1]
    return {
        "id": a.id,
        "title": a.title,
        "status": a.status,
        "version": run_.number if run_ else None,
        "published": run_ is not None and run_.number == a.published_version,
        "scheme": a.scheme,
        "rows": [
            {
                "unit_id": r["unit_id"],
                "name": r["name"],
                "rank": r.get("rank"),
                "score": r.get("score"),
                "components": r["components"],
            }
            for r in (run_.rows if run_ else [])
        ],
    }
