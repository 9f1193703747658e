"""Import a month's figures from the sheet courts export from their case-management
system (units as rows, indicators as columns; its layout: app.indicators.import_sheet):
preview with row errors, then save every row or none.

A unit is found by its full name or any alias; a blank cell is not reported (it never
clears a figure); a 合计 row or a footnote (制表人：…) under the table is skipped. The
preview checks every cell with the very checks `save_values` makes and keeps the
verdict as an ImportBatch; the commit refuses a batch with any error, then saves row by
row through `save_values` in the caller's one transaction (the view rolls back on the
first refusal, so nothing is half-saved)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from app import authz
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch
from app.indicators.import_sheet import Group, cell, norm, read_sheet
from app.indicators.models import Indicator
from app.indicators.values import catalogue_for, check_entry, check_month, check_unit, save_values
from app.org.models import Unit, UnitName, User

KIND = "indicators"
TOTAL_RE = re.compile(r"(全[省市区县]|本[院级]?|总|小)?[合总]计")
NOTE_RE = re.compile(r"(注|说明|备注)[^\n]*|[^\n]*[:：][^\n]*")  # 注：…, 制表人：… under the table


def _units(names: set[str]) -> dict[str, Unit]:
    """Every unit the sheet names, by full name or alias, in one query."""
    stmt = select(UnitName.name, Unit).join(Unit, Unit.id == UnitName.unit_id).where(UnitName.name.in_(names))
    return {name: unit for name, unit in db.session.execute(stmt)} if names else {}


def _shown(ind: Indicator, raw: dict[str, str]) -> str:
    if ind.aggregate == "ratio":
        return f"{raw.get('numerator', '')} / {raw.get('denominator', '')}"
    if ind.aggregate == "mean":
        return f"{raw.get('value', '')}（{ind.weight_label or '权数'} {raw.get('weight', '')}）"
    return raw.get("value", "")


def _skipped(text: str, cells: dict[str, str]) -> str:
    """Why a row is not imported at all ("" when it is)."""
    if not cells:
        return "本行没有填写数值，不报送。"
    if TOTAL_RE.fullmatch(norm(text)):
        return "合计行，不导入（上级的数由下级的数汇总）。"
    return "说明行，不导入。" if NOTE_RE.fullmatch(text) else ""


class _Rows:
    """Checks the data rows one by one: the unit, then each indicator's cells."""

    def __init__(self, actor: User, unit_col: int, groups: list[Group], units: dict[str, Unit]) -> None:
        self.actor, self.unit_col, self.groups, self.units = actor, unit_col, groups, units
        self.first_row: dict[int, int] = {}  # unit id → the row it first appeared on
        self.may: dict[int, bool] = {}

    def unit(self, text: str) -> Unit:
        unit = self.units.get(text.strip()) or self.units.get(norm(text))
        if unit is None:
            raise ServiceError(f"找不到单位“{text[:40]}”：请填写单位全称或系统中登记的简称。")
        if unit.id not in self.may:
            self.may[unit.id] = authz.can(self.actor, "indicator.enter", unit)
        if not self.may[unit.id]:
            raise ServiceError(f"“{unit.name}”不在您的管辖范围内，不能导入其数值。")
        if not unit.is_active:
            raise ServiceError(f"“{unit.name}”已停用，不能导入其数值。")
        return unit

    def check(self, number: int, row: list[str]) -> dict:
        """One row's verdict: {row, written, unit_id, unit, values, cells, errors, note, skip}."""
        text = cell(row, self.unit_col).strip()
        raws = {g.ind.code: {f: cell(row, c).strip() for f, c in g.cols.items()} for g in self.groups}
        cells = {
            g.ind.code: _shown(g.ind, raws[g.ind.code]) for g in self.groups if any(raws[g.ind.code].values())
        }
        out: dict[str, Any] = dict(
            row=number, written=text[:100], unit_id=None, unit="", values={}, cells=cells
        )
        out.update(errors=[], note=_skipped(text, cells), skip=False)
        if out["note"]:
            out["skip"] = True
            return out
        unit = None
        try:
            if not text:
                raise ServiceError("没有填写单位。")
            unit = self.unit(text)
            out["unit_id"], out["unit"] = unit.id, unit.name
            if unit.id in self.first_row:
                raise ServiceError(
                    f"“{unit.name}”与第 {self.first_row[unit.id]} 行重复：同一单位只能出现一次。"
                )
            self.first_row[unit.id] = number
        except ServiceError as exc:
            out["errors"].append(exc.message)
        for g in self.groups:
            raw = raws[g.ind.code]
            if not any(raw.values()):
                continue
            try:
                entry = check_entry(g.ind, raw)
                if unit is not None:
                    check_unit(g.ind, unit)
            except ServiceError as exc:
                out["errors"].append(exc.message)
                continue
            fields = {"numerator": entry.numerator, "denominator": entry.denominator}
            fields.update(value=entry.value, weight=entry.weight)
            out["values"][g.ind.code] = {k: v for k, v in fields.items() if v is not None}
        return out


def _title_warning(said: set[str], month: str) -> list[str]:
    if said and month not in said:
        shown = "、".join(f"{s[:4]}年{int(s[5:])}月" for s in sorted(said))
        return [f"文件标题写的是 {shown}，与所选月份 {month[:4]}年{int(month[5:])}月 不一致，请核对。"]
    return []


def preview(
    actor: User, filename: str, data: bytes, *, month: str, today: date, now: datetime
) -> ImportBatch:
    """Read and check the sheet (writing no figure); keep the verdict as a batch."""
    month = check_month(month, today)
    if not authz.can(actor, "indicator.enter", actor.unit):
        raise ServiceError("您无权导入指标数值。")
    indicators = catalogue_for(month)
    if not indicators:
        raise ServiceError(f"{month[:4]} 年还没有指标目录，不能导入该年的数值。", "month")
    sheet = read_sheet(filename, data, indicators)
    names = {v for _, r in sheet.rows for t in [cell(r, sheet.unit_col)] for v in (t.strip(), norm(t)) if v}
    checker = _Rows(actor, sheet.unit_col, sheet.groups, _units(names))
    rows = [checker.check(n, r) for n, r in sheet.rows]
    counts = {
        "rows": sum(1 for r in rows if not r["skip"]),
        "bad": sum(1 for r in rows if r["errors"]),
        "skipped": sum(1 for r in rows if r["skip"]),
        "values": sum(len(r["values"]) for r in rows if not r["skip"]),
    }
    batch = ImportBatch(
        kind=KIND,
        filename=(filename or "")[:255],
        created_by_id=actor.id,
        unit_id=actor.unit_id,
        created_at=now,
        rows=rows,
        result={
            "month": month,
            "columns": [{"code": g.ind.code, "name": g.ind.name} for g in sheet.groups],
            "errors": sheet.errors,
            "warnings": _title_warning(sheet.title_months, month),
            "counts": counts,
        },
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def bad_rows(batch: ImportBatch) -> list[dict]:
    return [r for r in batch.rows if r.get("errors")]


def commit(actor: User, batch: ImportBatch, *, today: date, now: datetime) -> dict:
    """Save every row of a batch without errors, or nothing (the caller rolls back on a
    ServiceError); returns the counts."""
    if batch.kind != KIND:
        raise ServiceError("该批次不是指标数值导入。")
    if batch.status != "preview":
        raise ServiceError("该批次已经导入，不能重复导入。")
    result = batch.result or {}
    if result.get("errors"):
        raise ServiceError("表头有错误，请修改文件后重新上传；未导入任何数据。")
    bad = bad_rows(batch)
    if bad:
        raise ServiceError(f"有 {len(bad)} 行有错误，请修改文件后重新上传；未导入任何数据。")
    rows = [r for r in batch.rows if not r.get("skip") and r.get("values")]
    if not rows:
        raise ServiceError("文件中没有可导入的数值。")
    month = check_month(result.get("month"), today)
    # Claimed in the database: of two commits of one batch, the second finds it taken.
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == "preview")
        .values(status="committed", committed_at=now)
    ).rowcount
    if claimed != 1:
        raise ServiceError("该批次已经导入，不能重复导入。")
    indicators = {i.code: i for i in catalogue_for(month)}
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({r["unit_id"] for r in rows})))
    }
    counts = {"added": 0, "changed": 0, "unchanged": 0, "units": 0}
    for r in rows:
        unit = units.get(r["unit_id"])
        where = f"第 {r['row']} 行（{r.get('unit') or r.get('written')}）"
        if unit is None or not unit.is_active or not authz.can(actor, "indicator.enter", unit):
            raise ServiceError(f"{where}：预览之后单位或权限已有变动，不能导入；未导入任何数据。")
        if any(code not in indicators for code in r["values"]):
            raise ServiceError("预览之后指标目录已有变动，请重新上传文件；未导入任何数据。")
        raw = [(indicators[code], v) for code, v in r["values"].items()]
        try:
            done = save_values(
                actor, unit, month, raw, source="import", clear_blank=False, today=today, now=now
            )
        except ServiceError as exc:
            raise ServiceError(f"{where}：{exc.message}未导入任何数据。") from exc
        for k in ("added", "changed", "unchanged"):
            counts[k] += done[k]
        counts["units"] += 1
    batch.result = {**result, "committed": counts}
    return {"month": month, **counts}
