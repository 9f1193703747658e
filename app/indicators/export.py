"""An assessment's frozen results as XLSX (through the one writer) and as a DOCX circular."""

from __future__ import annotations

from datetime import date

from app.exports.xlsx import Book, Column
from app.indicators.models import COMPONENTS, PERIOD_KINDS, Assessment, AssessmentRun
from app.org.models import Unit

SCORE = "0.00"


def _score(x: float | None) -> float | str:
    return "—" if x is None else x


def _weights(run: AssessmentRun) -> str:
    return "；".join(f"{COMPONENTS[k]} {w:g}" for k, w in run.scheme.items() if w > 0)


def results_xlsx(a: Assessment, run: AssessmentRun, *, today: date) -> bytes:
    keys = [k for k, w in run.scheme.items() if w > 0]
    columns = [
        Column("名次", 6, align="center"),
        Column("单位", 26),
        Column("上级法院", 20),
        *[
            Column(f"{COMPONENTS[k]}（权重 {run.scheme[k]:g}）", 12, number_format=SCORE, align="right")
            for k in keys
        ],
        Column("综合得分", 10, number_format=SCORE, align="right"),
    ]
    state = "已发布" if a.published_version == run.number else "未发布"
    book = Book(a.title, period=f"第 {run.number} 版（{state}）", as_of=today)
    book.sheet(
        "考评结果",
        columns,
        [
            [
                "—" if r.get("rank") is None else r["rank"],
                r["name"],
                r.get("parent", ""),
                *[_score(r["components"].get(k)) for k in keys],
                _score(r.get("score")),
            ]
            for r in run.rows
        ],
    )
    return book.to_bytes()


def results_docx(a: Assessment, run: AssessmentRun, *, unit: Unit, today: date) -> bytes:
    from app.exports.docx import HEADING_FONT, Report  # python-docx only where a document is written

    doc = Report()
    doc.title(f"关于{a.title}结果的通报")
    doc.paragraph("各有关法院：", space_before=12)
    ranked = [r for r in run.rows if r.get("rank") is not None]
    top = "、".join(r["name"] for r in ranked[:3])
    doc.body(
        f"根据{PERIOD_KINDS[a.kind]}考评安排，{unit.name}对{len(run.rows)}个法院{a.title.replace(unit.name, '')}"
        f"情况进行了评分。评分方案：{_weights(run)}（各项折合百分制，按权重加权；某项无数据的不计入，权重按其余各项折算）。"
        + (f"综合得分居前的是{top}。" if top else "")
        + (f"本结果为第 {run.number} 版，重新计算的理由：{run.reason}。" if run.reason else "")
    )
    doc.paragraph("附表：考评结果", font=HEADING_FONT, size=14, space_before=12)
    keys = [k for k, w in run.scheme.items() if w > 0]
    # a court's full name on one line (the figures' columns share what is left)
    rest = (doc.text_width_mm - 12 - 52) / (len(keys) + 1)
    doc.table(
        ["名次", "单位", *[COMPONENTS[k] for k in keys], "综合得分"],
        [
            [
                "—" if r.get("rank") is None else str(r["rank"]),
                r["name"],
                *["—" if r["components"].get(k) is None else f"{r['components'][k]:.2f}" for k in keys],
                "—" if r.get("score") is None else f"{r['score']:.2f}",
            ]
            for r in run.rows
        ],
        widths=[12, 52, *[rest] * (len(keys) + 1)],
        header_font=HEADING_FONT,
        center=False,
    )
    doc.paragraph(unit.name, align="right", space_before=24)
    doc.paragraph(f"{today.year}年{today.month}月{today.day}日", align="right")
    return doc.to_bytes()
