"""A visit report as a Word file, in the shape a court files it: A4, official-document
margins (GB/T 9704), 仿宋 body, numbered sections and the rectification table."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from app.deadlines import due_state
from app.tasks.models import Assignment
from app.timeutil import fmt_date_cn
from app.visits.models import Finding, Visit

TITLE_FONT, HEADING_FONT, BODY_FONT = "宋体", "黑体", "仿宋"
BODY_PT, TABLE_PT = 16, 12  # 三号 body, 小四 tables
SOLVED_LABEL = "现场解决的问题（帮助解决“急难愁盼”问题）"


def date_range_cn(start: date | None, end: date | None) -> str:
    """2026年3月2日, or 2026年3月2日至3月4日 for a visit over several days."""
    if start is None:
        return ""
    if end is None or end == start:
        return fmt_date_cn(start)
    tail = f"{end.month}月{end.day}日" if end.year == start.year else fmt_date_cn(end)
    return f"{fmt_date_cn(start)}至{tail}"


def visit_dates(visit: Visit) -> str:
    if visit.actual_start:
        return date_range_cn(visit.actual_start, visit.actual_end)
    return date_range_cn(visit.planned_start, visit.planned_end) + "（计划）"


def rectification_status(a: Assignment, today: date) -> str:
    overdue = due_state(a.deadline, a.status == "closed", today) == "overdue"
    return ("已销号" if a.status == "closed" else a.status_label) + ("（逾期）" if overdue else "")


def _run(paragraph, text: str, font: str = BODY_FONT, size: float = BODY_PT, bold: bool = False):
    run = paragraph.add_run(text)
    run.font.name = font
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return run


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    placeholder = OxmlElement("w:r")  # shown until Word updates the field
    text = OxmlElement("w:t")
    text.text = "1"
    placeholder.append(text)
    field.append(placeholder)
    footer._p.append(field)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)


def _heading(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.space_before = Pt(6)
    _run(p, text, HEADING_FONT)


def _body(doc, text: str | None) -> None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()] or ["无。"]
    for line in lines:
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
        _run(p, line)


def _cell(cell, text: str, bold: bool = False) -> None:
    cell.text = ""
    _run(cell.paragraphs[0], text, BODY_FONT, TABLE_PT, bold)


def _table(doc, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, text, bold=True)
    for values in rows:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            _cell(cell, text)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Mm(width)


def visit_report(visit: Visit, findings: Sequence[tuple[Finding, Assignment]], *, today: date) -> bytes:
    """The visit report (.docx bytes): facts, the four narrative sections, findings table."""
    doc = Document()
    _page_setup(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, f"{visit.organizer_unit.name}督导走访情况报告", TITLE_FONT, 22, bold=True)
    subtitle = doc.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(subtitle, visit.title, BODY_FONT, BODY_PT)
    facts = [
        ("走访类型", visit.kind.name),
        ("时间", visit_dates(visit)),
        ("地点（对象单位）", "、".join(t.unit.name for t in visit.targets)),
        ("带队领导", "、".join(v.user.display_name for v in visit.leaders)),
        ("参加人员", visit.team or "—"),
        ("组织单位", visit.organizer_unit.name),
    ]
    _table(doc, ("项目", "内容"), facts, (40, 116))
    sections = [
        ("一、调研内容", visit.topics),
        ("二、走访情况", visit.summary if visit.status == "done" else "尚未记录走访情况（计划中）。"),
        ("三、意见建议", visit.suggestions),
        (f"四、{SOLVED_LABEL}", visit.solved_on_spot),
    ]
    for heading, text in sections:
        _heading(doc, heading)
        _body(doc, text)
    _heading(doc, "五、发现问题及整改要求")
    rows = [
        (
            str(i),
            f.unit.name,
            f.description,
            fmt_date_cn(a.deadline),
            a.task.verifier.display_name if a.task.verifier else "",
            rectification_status(a, today),
        )
        for i, (f, a) in enumerate(findings, 1)
    ]
    if rows:
        _table(
            doc,
            ("序号", "责任单位", "发现的问题", "整改时限", "核验人", "办理状态"),
            rows,
            (12, 30, 56, 24, 18, 16),
        )
    else:
        _body(doc, "本次走访未发现需要整改的问题。")
    sign = doc.add_paragraph()
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    sign.paragraph_format.space_before = Pt(24)
    _run(sign, f"{visit.organizer_unit.name}\n{fmt_date_cn(today)}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
