"""Reading uploaded tables: spreadsheet row numbers kept, merged cells filled."""

import io

from openpyxl import Workbook

from app.importing import read_table
from app.tasks.parsing import parse_task_rows


def _xlsx(rows, merges=()):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_blank_rows_keep_spreadsheet_numbering_and_vertical_merges_fill_down():
    data = _xlsx(
        [
            ["某中院任务清单"],
            [],
            ["序号", "任务名称", "责任单位", "完成时限"],
            ["1", "甲事项", "甲县法院", "2023年6月30日"],
            ["2", "乙事项", None, None],
            [],
            ["3", "丙事项", "乙县法院", "2023-12-31"],
        ],
        merges=("A1:D1", "C4:C5", "D4:D5"),
    )
    rows = parse_task_rows(read_table("x.xlsx", data, max_rows=100), default_year=2023)
    assert [r.row for r in rows] == [4, 5, 7]
    assert rows[1].unit_names == ["甲县法院"] and rows[1].errors == []
    assert rows[1].deadline.due.isoformat() == "2023-06-30"
