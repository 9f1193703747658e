"""Importing a month's figures from a sheet: the template comes back clean, a sheet as a
case-management system exports it is read as it is, every bad row is shown and nothing
is saved unless every row is good, hostile files are refused with 400, and a batch is
its uploader's alone."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch
from app.indicators import importer
from app.indicators.models import Indicator, IndicatorValue
from app.journal import JournalEntry
from app.timeutil import utcnow

MONTH = "2026-03"


def _count(model=IndicatorValue) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _xlsx(rows: list[list], merges: tuple[str, ...] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _csv(rows: list[list]) -> bytes:
    return "\n".join(",".join(str(x) for x in r) for r in rows).encode("utf-8")


def _upload(c, data: bytes, filename: str = "数据.xlsx", month: str = MONTH):
    # Encoded in memory: the test client would otherwise spool a large body to a temp file it never closes.
    boundary, body = encode_multipart(
        {"month": month, "file": FileStorage(io.BytesIO(data), filename=filename)}
    )
    return c.post("/indicators/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _preview(c, data: bytes, filename: str = "数据.xlsx", month: str = MONTH) -> tuple[int, str]:
    """Upload; (the batch id, its preview page)."""
    resp = _upload(c, data, filename, month)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    batch_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    page = c.get(f"/indicators/import/{batch_id}")
    assert page.status_code == 200
    return batch_id, page.get_data(as_text=True)


def _values(ind, unit) -> dict[str, IndicatorValue]:
    codes = {i.id: code for code, i in ind.by_code.items()}
    rows = db.session.scalars(select(IndicatorValue).where(IndicatorValue.unit_id == unit.id))
    return {codes[v.indicator_id]: v for v in rows}


def test_the_template_imports_back(ind, as_user):
    """Download the template, fill some cells, upload: no errors, saved as 表格导入, journaled."""
    c = as_user(ind.inter_assigner)
    resp = c.get(f"/indicators/import/template.xlsx?month={MONTH}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb.worksheets[0]
    assert ws["A1"].value == "甲市中级人民法院 2026年3月 审判质效指标数据"
    assert (ws["A2"].value, ws["B2"].value, ws["B3"].value, ws["C3"].value) == (
        "单位",
        "结案率",
        "分子",
        "分母",
    )
    assert "A2:A3" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    units = [ws.cell(r, 1).value for r in range(4, ws.max_row + 1)]
    assert units == ["甲市中级人民法院", "甲一区人民法院", "甲二区人民法院"]  # no tribunal reports
    top = {ws.cell(2, col).value: col for col in range(2, ws.max_column + 1) if ws.cell(2, col).value}
    assert ws.cell(3, top["案件平均审理天数"] + 1).value == "结案数"
    ws.cell(5, top["结案率"], 95)
    ws.cell(5, top["结案率"] + 1, 100)
    ws.cell(5, top["案件平均审理天数"], 45.5)
    ws.cell(5, top["案件平均审理天数"] + 1, 120)
    ws.cell(6, top["长期未结案件数"], 3)
    out = io.BytesIO()
    wb.save(out)
    batch_id, page = _preview(c, out.getvalue())
    assert "全部通过检查" in page and 'data-testid="commit-import"' in page
    assert "本行没有填写数值" in page  # the court's own row was left blank
    resp = c.post(f"/indicators/import/{batch_id}/commit")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    base1 = _values(ind, ind.t.base1)
    assert (base1["JAL"].numerator, base1["JAL"].denominator, base1["JAL"].source) == (95, 100, "import")
    assert (base1["PJSLTS"].value, base1["PJSLTS"].weight) == (45.5, 120)
    assert base1["JAL"].entered_by_id == ind.inter_assigner.id
    assert _values(ind, ind.t.base2)["CQWJ"].value == 3 and not _values(ind, ind.t.inter1)
    actions = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.object_type == "IndicatorValue")
    )
    assert list(actions) == ["indicator_value.add"] * 3
    assert db.session.get(ImportBatch, batch_id).status == "committed"
    again = c.get(f"/indicators/import/{batch_id}").get_data(as_text=True)
    assert "已导入" in again and "新增 3 项" in again and 'data-testid="commit-import"' not in again


def test_a_case_management_export_is_read_as_it_is(ind, as_user):
    """Two title rows, a 序号 column, merged headers, a unit by alias, a 合计 row and a
    footnote; a blank cell is not reported and clears nothing."""
    c = as_user(ind.inter_assigner)
    rows = [
        ["甲市法院审判质效指标统计表"],
        ["统计期间：2026年3月1日至2026年3月31日"],
        ["序号", "单位", "结案率", None, "法定审限内结案率", None, "长期未结案件数"],
        [None, None, "分子", "分母", "分子", "分母", None],
        [1, "甲一区法院", 90, 100, None, None, 2],
        [2, "甲二区人民法院", 80, 90, "", "", None],
        [None, "合计", 170, 190, None, None, 2],
        [None, "制表人：张三", None, None, None, None, None],
    ]
    merges = ("A1:G1", "A2:G2", "A3:A4", "B3:B4", "C3:D3", "E3:F3", "G3:G4")
    batch_id, page = _preview(c, _xlsx(rows, merges))
    assert "全部通过检查" in page and "→ 甲一区人民法院" in page and "合计行" in page
    assert "import-warning" not in page  # the title's month is the month chosen
    assert c.post(f"/indicators/import/{batch_id}/commit").status_code == 302
    base1, base2 = _values(ind, ind.t.base1), _values(ind, ind.t.base2)
    assert set(base1) == {"JAL", "CQWJ"} and (base1["JAL"].numerator, base1["CQWJ"].value) == (90, 2)
    assert set(base2) == {"JAL"} and base2["JAL"].denominator == 90
    assert not _values(ind, ind.t.inter1)  # the 合计 row is not the intermediate court's


def test_one_row_headers_by_name_or_code_in_a_csv(ind, as_user):
    """结案率分子 / JAL（分母） / 案件平均审理天数(结案数) in one header row; a month in the
    title that is not the one chosen is pointed out."""
    c = as_user(ind.base1_coord)
    rows = [
        ["2026年2月 质效数据"],
        ["单位名称", "结案率分子", "jal（分母）", "案件平均审理天数", "案件平均审理天数(结案数)", "空列"],
        ["甲一区人民法院", "9", "10", "50", "40", ""],
    ]
    batch_id, page = _preview(c, _csv(rows), "数据.csv")
    assert "全部通过检查" in page and "与所选月份 2026年3月 不一致" in page
    assert c.post(f"/indicators/import/{batch_id}/commit").status_code == 302
    base1 = _values(ind, ind.t.base1)
    assert (base1["JAL"].numerator, base1["JAL"].denominator) == (9, 10)
    assert (base1["PJSLTS"].value, base1["PJSLTS"].weight) == (50, 40)


def test_bad_rows_are_shown_and_nothing_is_saved(ind, as_user):
    """Every bad row says why; the commit is refused and saves nothing."""
    c = as_user(ind.inter_assigner)
    rows = [
        ["单位", "结案率分子", "结案率分母"],
        ["甲一区法院", 0, 0],
        ["甲二区人民法院", 120, 100],
        ["不存在人民法院", 1, 2],
        ["乙一县人民法院", 1, 2],
        ["甲一区人民法院", 1, 2],
        ["甲市中级人民法院", "九十", 100],
        ["甲市中级人民法院", 1, 2],
    ]
    batch_id, page = _preview(c, _xlsx(rows))
    assert "有错误" in page and 'data-testid="commit-import"' not in page
    for message in (
        "分母为 0",
        "大于分母",
        "找不到单位“不存在人民法院”",
        "“乙一县人民法院”不在您的管辖范围内",
        "“甲一区人民法院”与第 2 行重复",
        "“九十”不是数字",
        "“甲市中级人民法院”与第 7 行重复",
    ):
        assert message in page, message
    assert page.count('class="table-danger"') == 7
    resp = c.post(f"/indicators/import/{batch_id}/commit")
    assert resp.status_code == 400
    assert "有 7 行有错误，请修改文件后重新上传；未导入任何数据。" in resp.get_data(as_text=True)
    assert _count() == 0 and db.session.get(ImportBatch, batch_id).status == "preview"


def test_an_unknown_column_is_an_error_unless_empty(ind, as_user):
    """A column nobody can place is named, never dropped; an empty one is ignored."""
    c = as_user(ind.inter_assigner)
    rows = [
        ["单位", "结案率分子", "结案率分母", "调解率", "备注"],
        ["甲一区人民法院", 1, 2, 30, None],
    ]
    batch_id, page = _preview(c, _xlsx(rows))
    assert "第 D 列“调解率”不是 2026 年指标目录中的指标名称或代码" in page
    assert "备注" not in page.split('data-testid="header-errors"')[1].split("</div>")[0]
    resp = c.post(f"/indicators/import/{batch_id}/commit")
    assert resp.status_code == 400 and "表头有错误" in resp.get_data(as_text=True)
    assert _count() == 0
    rows = [["单位", "结案率", "长期未结案件数"], ["甲一区人民法院", 1, 2]]  # a rate needs two columns
    _, page = _preview(c, _xlsx(rows))
    assert "“结案率”是比率，请分“分子”“分母”两列填写" in page


def test_a_row_refused_at_commit_keeps_nothing_of_the_rows_before(ind, as_user):
    """The catalogue changes between preview and commit: the second row is refused at
    commit, and the first row's figures are not kept either."""
    c = as_user(ind.inter_assigner)
    rows = [["单位", "结案率分子", "结案率分母"], ["甲市中级人民法院", 1, 2], ["甲一区人民法院", 3, 4]]
    batch_id, page = _preview(c, _xlsx(rows))
    assert "全部通过检查" in page
    jal = db.session.get(Indicator, ind.by_code["JAL"].id)
    jal.levels = ["high", "intermediate"]
    db.session.commit()
    resp = c.post(f"/indicators/import/{batch_id}/commit")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "第 3 行（甲一区人民法院）" in body and "未导入任何数据" in body
    assert _count() == 0
    assert db.session.get(ImportBatch, batch_id).status == "preview"
    assert not db.session.scalars(
        select(JournalEntry).where(JournalEntry.object_type == "IndicatorValue")
    ).all()


def test_a_failure_while_saving_keeps_nothing(ind, as_user, monkeypatch):
    """save_values refusing the second court: the first court's figures are rolled back."""
    c = as_user(ind.inter_assigner)
    rows = [["单位", "结案率分子", "结案率分母"], ["甲一区人民法院", 1, 2], ["甲二区人民法院", 3, 4]]
    batch_id, _ = _preview(c, _xlsx(rows))
    real, calls = importer.save_values, []

    def flaky(*args, **kwargs):
        calls.append(args[1].name)
        if len(calls) == 2:
            raise ServiceError("模拟的保存失败。")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "save_values", flaky)
    resp = c.post(f"/indicators/import/{batch_id}/commit")
    assert resp.status_code == 400 and "模拟的保存失败" in resp.get_data(as_text=True)
    assert calls == ["甲一区人民法院", "甲二区人民法院"]
    assert _count() == 0 and db.session.get(ImportBatch, batch_id).status == "preview"
    monkeypatch.setattr(importer, "save_values", real)
    assert c.post(f"/indicators/import/{batch_id}/commit").status_code == 302
    assert _count() == 2
    resp = c.post(f"/indicators/import/{batch_id}/commit")  # a second commit of the same batch
    assert resp.status_code == 400 and "已经导入" in resp.get_data(as_text=True)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


def _nul_xlsx() -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["单位", "结案率分子", "结案率分母"])
    ws.write_row(1, 0, ["甲一区人民法院\x00", 1, 2])
    wb.close()
    return out.getvalue()


HOSTILE = {
    "text renamed .xlsx": ("a.xlsx", lambda: "单位,结案率分子\n".encode(), "不是 Excel 文件"),
    "empty": ("a.xlsx", lambda: b"", "空的"),
    "corrupt": ("a.xlsx", lambda: b"PK\x03\x04" + b"\xff" * 500, "无法读取"),
    "too big": ("a.csv", lambda: b"a," * (1024 * 1024 + 1), "文件过大"),
    "zip bomb": ("a.xlsx", _zip_bomb, "解压后过大"),
    "2,001 rows": (
        "a.csv",
        lambda: _csv([["单位", "结案率分子", "结案率分母"], *[[f"法院{i}", 1, 2] for i in range(2001)]]),
        "一次最多导入 2000 行",
    ),
    "NUL in a csv": (
        "a.csv",
        lambda: "单位,结案率分子,结案率分母\n甲一区\x00,1,2\n".encode(),
        "不是文本格式",
    ),
    "NUL in an xlsx": ("a.xlsx", _nul_xlsx, "控制字符"),
    "100,000 characters": (
        "a.xlsx",
        lambda: _xlsx([["单位", "结案率分子", "结案率分母"], ["甲" * 100_000, 1, 2]]),
        "内容过长",
    ),
    "no header": ("a.xlsx", lambda: _xlsx([["甲", "乙"], [1, 2]]), "没有找到表头"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused(ind, as_user, case):
    """Each is a 400 with a Chinese message; no batch, no figure."""
    filename, make, message = HOSTILE[case]
    resp = _upload(as_user(ind.inter_assigner), make(), filename)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:2000]
    assert message in resp.get_data(as_text=True)
    assert _count() == 0 and _count(ImportBatch) == 0


def test_a_batch_is_its_uploaders_alone(ind, as_user):
    """Another user — even the high court's reviewer above — gets 404 for my batch."""
    rows = [["单位", "结案率分子", "结案率分母"], ["甲一区人民法院", 1, 2]]
    batch_id, _ = _preview(as_user(ind.inter_assigner), _xlsx(rows))
    for other in (ind.base1_coord, ind.reviewer):
        c = as_user(other)
        assert c.get(f"/indicators/import/{batch_id}").status_code == 404
        assert c.post(f"/indicators/import/{batch_id}/commit").status_code == 404
    assert as_user(ind.inter_leader).get("/indicators/import").status_code == 403
    assert _count() == 0 and db.session.get(ImportBatch, batch_id).status == "preview"


@pytest.mark.parametrize(
    ("month", "message"), [("2099-01", "尚未到来"), ("2026-13", "无法识别的月份"), ("<b>", "无法识别的月份")]
)
def test_a_future_or_malformed_month_is_refused(ind, as_user, month, message):
    c = as_user(ind.inter_assigner)
    rows = [["单位", "结案率分子", "结案率分母"], ["甲一区人民法院", 1, 2]]
    resp = _upload(c, _xlsx(rows), month=month)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    resp = c.get(f"/indicators/import/template.xlsx?month={month}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert _count() == 0 and _count(ImportBatch) == 0


def test_two_commits_of_one_batch_save_it_once(ind, as_user):
    """The batch is claimed in the database: a commit that still sees it as a preview,
    while another commit has taken it meanwhile, is refused and saves nothing."""
    rows = [["单位", "结案率分子", "结案率分母"], ["甲一区人民法院", 1, 2]]
    batch_id, _ = _preview(as_user(ind.inter_assigner), _xlsx(rows))
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.status == "preview"
    db.session.execute(
        text("UPDATE import_batches SET status = 'committed' WHERE id = :id"), {"id": batch_id}
    )
    with pytest.raises(ServiceError, match="已经导入"):
        importer.commit(ind.inter_assigner, batch, today=date(2026, 12, 1), now=utcnow())
    db.session.rollback()
    assert _count() == 0


def test_a_column_without_header_is_an_error_if_it_holds_data(ind, as_user):
    c = as_user(ind.inter_assigner)
    rows = [["单位", "长期未结案件数", None], ["甲一区人民法院", 1, 7]]
    _, page = _preview(c, _xlsx(rows))
    assert "第 C 列没有表头，但填有数据" in page and 'data-testid="commit-import"' not in page
    rows = [["单位", "结案率"], ["甲一区人民法院", 1]]
    _, page = _preview(c, _xlsx(rows))
    assert page.count("是比率，请分“分子”“分母”两列填写") == 1
