"""Pages: the catalogue, the monthly grid, compliance, ranking, trends and 预警."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.dashboard import charts
from app.errors import ServiceError, parse_version
from app.extensions import db
from app.indicators import bp, forms
from app.indicators import catalogue as cat
from app.indicators import compliance as comp
from app.indicators.models import (
    AGGREGATES,
    DIRECTIONS,
    KINDS,
    LEVELS,
    SOURCES,
    Indicator,
    IndicatorValue,
    IndicatorWarning,
)
from app.indicators.values import (
    catalogue_for,
    check_month,
    last_complete_month,
    month_add,
    months_back,
    own_values,
    save_values,
)
from app.journal import actors_of, history
from app.org.models import Unit, User
from app.tasks.helpers import arg_int
from app.timeutil import local_today, utcnow
from app.views_util import actor, form_status, run_service

RANK_LEVELS = {"intermediate": "中级法院", "base": "基层法院"}


def default_month() -> str:
    """The last complete month: a month's figures come in during the next one."""
    return last_complete_month(local_today())


def month_arg() -> tuple[str, int]:
    """The month asked for, or the default; a malformed or future one is said (flash)
    and the default shown, with 400."""
    raw = request.args.get("month")
    if not raw:
        return default_month(), 200
    try:
        return check_month(raw, local_today()), 200
    except ServiceError as exc:
        flash(exc.message, "danger")
        return default_month(), 400


def unit_arg(action: str) -> Unit:
    return authz.get_scoped_or_404(Unit, arg_int("unit") or current_user.unit_id, action, current_user)


# ---------------------------------------------------------------- catalogue


@bp.route("/indicators")
@login_required
def catalogue_page():
    authz.require(current_user, "indicator.catalogue")
    year = arg_int("year") or local_today().year
    if not cat.YEAR_MIN <= year <= cat.YEAR_MAX:
        year = local_today().year
    return render_template(
        "indicators/catalogue.html",
        year=year,
        years=sorted(set(cat.years()) | {year}),
        indicators=cat.catalogue(year),
        kinds=KINDS,
        aggregates=AGGREGATES,
        directions=DIRECTIONS,
        levels=LEVELS,
        copy_form=forms.CopyForm(from_year=year, to_year=year + 1),
    )


def _indicator_page(form: forms.IndicatorForm, year: int, indicator: Indicator | None, status: int):
    return render_template(
        "indicators/indicator_form.html", form=form, year=year, indicator=indicator
    ), status


def _form_data(form: forms.IndicatorForm) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in cat.FIELDS}


@bp.route("/indicators/new", methods=["GET", "POST"])
@login_required
def indicator_new():
    authz.require(current_user, "indicator.manage")
    year = arg_int("year") or local_today().year
    form = forms.IndicatorForm()
    if request.method == "GET":
        form.levels.data = list(cat.DEFAULT_LEVELS)
    status = 200
    if form.validate_on_submit():
        ind, status = run_service(
            lambda: cat.save_indicator(
                actor(), None, _form_data(form), year=year, expected_version=None, now=utcnow()
            ),
            form,
        )
        if ind:
            flash(f"已添加指标“{ind.name}”。", "success")
            return redirect(url_for("indicators.catalogue_page", year=year))
    return _indicator_page(form, year, None, max(status, form_status(form)))


@bp.route("/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@login_required
def indicator_edit(indicator_id: int):
    authz.require(current_user, "indicator.manage")
    ind = db.get_or_404(Indicator, indicator_id)
    form = forms.IndicatorForm(obj=ind)
    if request.method == "GET":
        form.version.data = ind.version
    status = 200
    if form.validate_on_submit():
        done, status = run_service(
            lambda: cat.save_indicator(
                actor(),
                ind,
                _form_data(form),
                year=ind.year,
                expected_version=parse_version(form.version.data),
                now=utcnow(),
            ),
            form,
            versioned=ind,
        )
        if done:
            flash(f"已保存指标“{ind.name}”。", "success")
            return redirect(url_for("indicators.catalogue_page", year=ind.year))
    return _indicator_page(form, ind.year, ind, max(status, form_status(form)))


@bp.route("/indicators/copy", methods=["POST"])
@login_required
def catalogue_copy():
    authz.require(current_user, "indicator.manage")
    form = forms.CopyForm()
    if not form.validate_on_submit():
        flash("请填写有效的年份（2000–2100）。", "danger")
        return redirect(url_for("indicators.catalogue_page")), 303
    n, status = run_service(
        lambda: cat.copy_catalogue(actor(), form.from_year.data, form.to_year.data, now=utcnow())
    )
    if n:
        flash(f"已将 {form.from_year.data} 年的 {n} 项指标复制为 {form.to_year.data} 年的目录。", "success")
        return redirect(url_for("indicators.catalogue_page", year=form.to_year.data))
    return redirect(url_for("indicators.catalogue_page", year=form.from_year.data)), 303


# ---------------------------------------------------------------- monthly values


def _grid_input(indicators: list[Indicator]) -> list[tuple[Indicator, dict[str, str]]]:
    out = []
    for ind in indicators:
        out.append(
            (
                ind,
                {
                    k: request.form.get(f"{k}_{ind.id}", "").strip()
                    for k in ("numerator", "denominator", "value", "weight")
                },
            )
        )
    return out


@bp.route("/indicators/values", methods=["GET", "POST"])
@login_required
def values_page():
    """One court's own figures for a month: a grid, one row per indicator."""
    unit = unit_arg("indicator.view")
    month, status = month_arg()
    indicators = [i for i in catalogue_for(month) if unit.level in (i.levels or [])]
    may_enter = authz.can(current_user, "indicator.enter", unit)
    form = forms.ValuesForm()
    submitted: dict[int, dict[str, str]] = {}
    if request.method == "POST":
        authz.require(current_user, "indicator.enter", unit)
        if status != 200:
            return redirect(url_for("indicators.values_page", unit=unit.id)), 303
        raw = _grid_input(indicators)
        submitted = {ind.id: data for ind, data in raw}
        expected = {ind.id: request.form.get(f"version_{ind.id}", type=int) or 0 for ind in indicators}
        if form.validate_on_submit():
            counts, status = run_service(
                lambda: save_values(
                    actor(),
                    unit,
                    month,
                    raw,
                    source="form",
                    clear_blank=True,
                    today=local_today(),
                    now=utcnow(),
                    expected=expected,
                )
            )
            if counts:
                flash(
                    f"已保存 {unit.name} {month} 的数值：新增 {counts['added']} 项，更正 {counts['changed']} 项，"
                    f"清除 {counts['cleared']} 项。",
                    "success",
                )
                return redirect(url_for("indicators.values_page", unit=unit.id, month=month))
        else:
            status = 400
            flash("页面已过期，请刷新后重新填写。", "danger")
    own = own_values(unit.id, month)
    people = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({v.entered_by_id for v in own.values()} or {0}))
        )
    }
    return render_template(
        "indicators/values.html",
        unit=unit,
        month=month,
        previous=month_add(month, -1),
        following=month_add(month, 1) if month < default_month() else None,
        indicators=indicators,
        own=own,
        submitted=submitted,
        people=people,
        sources=SOURCES,
        may_enter=may_enter,
        form=form,
        children=comp.child_units(unit),
    ), status


@bp.route("/indicators/values/<int:value_id>/history")
@login_required
def value_history(value_id: int):
    v = db.get_or_404(IndicatorValue, value_id)
    unit = authz.get_scoped_or_404(Unit, v.unit_id, "indicator.view", current_user)
    entries = history("IndicatorValue", v.id)
    return render_template(
        "indicators/value_history.html",
        v=v,
        unit=unit,
        indicator=db.session.get(Indicator, v.indicator_id),
        entries=entries,
        actors=actors_of(entries),
        sources=SOURCES,
    )


# ---------------------------------------------------------------- compliance, ranking, trend


@bp.route("/indicators/compliance")
@login_required
def compliance_page():
    """A court and the courts directly below it: each indicator's figure over its
    subtree, inside or outside its interval, 达标率 and score."""
    unit = unit_arg("indicator.view")
    month, status = month_arg()
    indicators = catalogue_for(month)
    rows = comp.compliance([unit, *comp.child_units(unit)], month, indicators)
    return render_template(
        "indicators/compliance.html",
        unit=unit,
        month=month,
        previous=month_add(month, -1),
        following=month_add(month, 1) if month < default_month() else None,
        indicators=indicators,
        rows=rows,
    ), status


@bp.route("/indicators/ranking")
@login_required
def ranking_page():
    authz.require(current_user, "indicator.ranking")
    month, status = month_arg()
    level = request.args.get("level", "base")
    if level not in RANK_LEVELS:
        flash("排名层级只能是中级法院或基层法院，已显示基层法院。", "danger")
        level, status = "base", 400
    from app.dashboard.views import province_of  # the dashboard's views import this package

    root = province_of(current_user.unit_id)
    rows = comp.ranking(root.id, level, month)
    return render_template(
        "indicators/ranking.html",
        root=root,
        level=level,
        levels=RANK_LEVELS,
        month=month,
        previous=month_add(month, -1),
        rows=rows,
        indicators=catalogue_for(month),
        visible=authz.visible_unit_ids(current_user),
    ), status


@bp.route("/indicators/trend")
@login_required
def trend_page():
    """One indicator over 12 months for a court and the courts directly below it, and
    the court's 达标率 and score over the same months."""
    unit = unit_arg("indicator.view")
    month, status = month_arg()
    indicators = catalogue_for(month)
    code = request.args.get("code") or (indicators[0].code if indicators else "")
    indicator = next((i for i in indicators if i.code == code), indicators[0] if indicators else None)
    months = months_back(month, 12)
    labels = [charts.month_label(m) for m in months]
    chart = summary = None
    if indicator is not None:
        units = [unit, *comp.child_units(unit)][:8]
        values = comp.series([u.id for u in units], indicator, months)
        is_rate = indicator.kind == "rate"
        chart = charts.line_chart(
            labels,
            [
                charts.Series(
                    u.name, [None if x is None else (x / 100 if is_rate else x) for x in values[u.id]]
                )
                for u in units
            ],
            title=f"{indicator.name}（{indicator.interval_text if indicator.has_interval else '无参考区间'}）",
            percent=is_rate,
            testid="indicator-trend",
        )
        per_month = comp.compliance_series(unit, months)
        summary = charts.line_chart(
            labels,
            [
                charts.Series("达标率", [None if r.rate is None else r.rate / 100 for r in per_month]),
                charts.Series(
                    "综合得分（÷100）", [None if r.score is None else r.score / 100 for r in per_month]
                ),
            ],
            title=f"{unit.name} 达标率与综合得分",
            percent=True,
            y_max=1.0,
            testid="compliance-trend",
        )
    return render_template(
        "indicators/trend.html",
        unit=unit,
        month=month,
        indicators=indicators,
        indicator=indicator,
        chart=chart,
        summary=summary,
    ), status


@bp.route("/indicators/warnings")
@login_required
def warnings_page():
    query = authz.scope(select(IndicatorWarning), IndicatorWarning, current_user)
    rows = list(
        db.session.scalars(
            query.order_by(IndicatorWarning.raised_at.desc(), IndicatorWarning.id.desc()).limit(200)
        )
    )
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({w.unit_id for w in rows} or {0})))
    }
    return render_template("indicators/warnings.html", rows=rows, units=units)
