"""Reading task lists (任务清单) as courts write them: headers, units, deadlines, rows."""

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.importing import ImportFormatError, read_table
from app.tasks.parsing import (
    DeadlineError,
    ParsedDeadline,
    ParsedRow,
    find_header,
    parse_deadline,
    parse_report_every,
    parse_task_rows,
    split_units,
)

EXAMPLE = Path("/work/shared/examples/任务清单-示例.xlsx")


def _xlsx(rows: list[list], merges: tuple[str, ...] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for cells in merges:
        ws.merge_cells(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _read(data: bytes) -> list[list[str]]:
    return read_table("任务清单.xlsx", data, max_rows=5000)


# ---------------------------------------------------------------- the real example


@pytest.mark.skipif(not EXAMPLE.exists(), reason="example file not available")
def test_example_file_parses_to_six_clean_rows():
    rows = parse_task_rows(_read(EXAMPLE.read_bytes()), default_year=2022)

    assert [r.title for r in rows] == [
        "选配人民法庭庭长",
        "法庭制度建设",
        "调整人民法庭布局",
        "开展“千人解万纷”活动",
        "推广“老哥”调解六步法",
        "组织系统培训",
    ]
    assert [r.row for r in rows] == [4, 5, 6, 7, 8, 9]
    assert [r.seq for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [r.unit_names for r in rows] == [
        ["阜蒙县人民法院", "彰武县人民法院"],
        ["阜蒙县人民法院"],
        ["阜蒙县人民法院", "彰武县人民法院", "清河门区人民法院"],
        ["王府人民法庭", "冯家人民法庭"],
        ["冯家人民法庭"],
        ["阜新市中级人民法院政治部"],
    ]
    assert [r.deadline for r in rows] == [
        ParsedDeadline("date", due=date(2022, 10, 31)),
        ParsedDeadline("date", due=date(2022, 12, 31)),
        ParsedDeadline("date", due=date(2022, 12, 31)),
        ParsedDeadline("ongoing", report_every="quarterly"),
        ParsedDeadline("date", due=date(2022, 11, 30)),
        ParsedDeadline("date", due=date(2022, 12, 31)),
    ]
    assert [r.errors for r in rows] == [[]] * 6
    assert rows[0].leader == "张某某"
    assert rows[0].requirements == "优先选配法庭庭长，配齐配强法庭队伍"
    assert rows[2].notes == "需报省院审批"
    assert rows[3].deadline_text == "长期坚持"
    assert all(r.section == "" for r in rows)


@pytest.mark.skipif(not EXAMPLE.exists(), reason="example file not available")
def test_example_year_of_month_day_deadline_follows_default_year():
    rows = parse_task_rows(_read(EXAMPLE.read_bytes()), default_year=2023)
    assert rows[4].deadline == ParsedDeadline("date", due=date(2023, 11, 30))
    assert rows[0].deadline == ParsedDeadline("date", due=date(2022, 10, 31))  # explicit year kept


# ---------------------------------------------------------------- sheets built here

VARIED_SHEET = [
    ["某某市中级人民法院2023年度强基工程重点任务清单", None, None, None, None, None, None],
    ["（2023年2月制）", None, None, None, None, None, None],
    [None, None, None, None, None, None, None],
    ["序 号", "重点任务", "具体措施", "责任单位*", "配合单位", "牵头院领导", "完成时间："],
    ["一、队伍建设", None, None, None, None, None, None],
    [
        "1",
        "配齐法庭干警",
        "每个法庭至少1名员额法官",
        "甲县法院，乙县法院",
        "政治部",
        "张某某",
        "2023年6月底前",
    ],
    ["2", "开展岗位练兵", "组织庭审观摩", "甲县法院；乙县法院 丙区法院", None, "李某某", "长期坚持"],
    ["（二）基础设施", None, None, None, None, None, None],
    [
        "3",
        "改造审判法庭",
        "完成科技法庭改造",
        "丙区法院/甲县法院",
        "行装处",
        "王某某",
        "二〇二三年十二月底前",
    ],
    ["4", None, "无名任务", None, None, None, "2023年2月30日"],
    ["5", "建设诉讼服务站", "每个乡镇设1个", "乙县法院", None, "赵某某", None],
    ["6", "按月报送台账", None, "丙区法院", None, None, "每月"],
    ["注：1.完成时限为最迟完成时间；2.长期坚持的任务每季度报送进展。", None, None, None, None, None, None],
    ["2.本清单由政治部负责解释。", None, None, None, None, None, None],
]
VARIED_MERGES = ("A1:G1", "A2:G2", "A5:G5", "A8:G8", "A13:G13", "A14:G14")


def test_varied_headers_sections_and_footer():
    rows = parse_task_rows(_read(_xlsx(VARIED_SHEET, VARIED_MERGES)), default_year=2023)

    # a blank row 3 above the header; sections and footer are skipped
    assert [r.seq for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [r.section for r in rows] == [
        "队伍建设",
        "队伍建设",
        "基础设施",
        "基础设施",
        "基础设施",
        "基础设施",
    ]
    first, second, third, fourth, fifth, sixth = rows
    assert first.title == "配齐法庭干警"
    assert first.requirements == "每个法庭至少1名员额法官"
    assert first.unit_names == ["甲县法院", "乙县法院"]
    assert first.cooperator_names == ["政治部"]
    assert first.leader == "张某某"
    assert first.deadline == ParsedDeadline("date", due=date(2023, 6, 30))
    assert first.errors == []

    assert second.unit_names == ["甲县法院", "乙县法院", "丙区法院"]
    assert second.deadline == ParsedDeadline("ongoing")  # no 每季度 in its own cells
    assert second.errors == []

    assert third.unit_names == ["丙区法院", "甲县法院"]
    assert third.deadline == ParsedDeadline("date", due=date(2023, 12, 31))

    assert fourth.errors == ["缺少任务名称", "缺少责任单位", "日期不存在：2023年2月30日"]
    assert fourth.deadline is None
    assert fifth.errors == ["缺少完成时限"]
    assert fifth.deadline is None
    assert sixth.deadline == ParsedDeadline("recurring", recurrence="monthly")
    assert sixth.errors == []


def test_row_numbers_are_spreadsheet_rows_without_blank_rows():
    sheet = [r for r in VARIED_SHEET if any(r)]  # no blank row: read rows == sheet rows
    rows = parse_task_rows(_read(_xlsx(sheet)), default_year=2023)
    assert [r.row for r in rows] == [5, 6, 8, 9, 10, 11]


def test_repeated_header_template_numbers_and_column_index_rows_are_skipped():
    header = ["序号", "工作事项", "工作要求", "承办单位", "协办单位", "分管领导", "时间节点", "备注"]
    sheet = [
        ["任务清单"],
        header,
        ["1", "2", "3", "4", "5", "6", "7", "8"],
        ["1", "清理积案", "", "甲县法院", "", "", "2023.11.15", "每月报送"],
        header,
        ["2", "规范送达", "", "乙县法院", "", "", "第三季度", ""],
        ["3"],
        ["4"],
    ]
    rows = parse_task_rows(_read(_xlsx(sheet)), default_year=2023)
    assert [(r.seq, r.title) for r in rows] == [("1", "清理积案"), ("2", "规范送达")]
    assert rows[0].deadline == ParsedDeadline("date", due=date(2023, 11, 15))
    assert rows[0].notes == "每月报送"
    assert rows[1].deadline == ParsedDeadline("date", due=date(2023, 9, 30))


def test_section_ordinal_in_seq_column_and_notes_give_report_every():
    sheet = [
        ["序号", "任务名称", "责任单位", "完成时限", "备注"],
        ["一", "审判执行", "", "", ""],
        ["1", "压降未结案件", "甲县法院", "持续推进", "每半年报送一次"],
        ["2", "提高调解率", "甲县法院", "长期坚持，按月报送", "每季度报送"],
        ["(二)", "司法警察", "", "", ""],
        ["3", "警务保障", "乙县法院", "年内", ""],
    ]
    rows = parse_task_rows(_read(_xlsx(sheet)), default_year=2024)
    assert [(r.section, r.title) for r in rows] == [
        ("审判执行", "压降未结案件"),
        ("审判执行", "提高调解率"),
        ("司法警察", "警务保障"),
    ]
    assert rows[0].deadline == ParsedDeadline("ongoing", report_every="halfyear")
    assert rows[1].deadline == ParsedDeadline("ongoing", report_every="monthly")  # the cell wins
    assert rows[2].deadline == ParsedDeadline("date", due=date(2024, 12, 31))


def test_footer_before_any_data_is_skipped_not_the_end():
    sheet = [
        ["序号", "任务名称", "责任单位", "完成时限"],
        ["说明：请各单位按时填报。"],
        ["1", "完善制度", "甲县法院", "12月底前"],
        ["填表人：张三", "", "联系电话：123", ""],
    ]
    rows = parse_task_rows(_read(_xlsx(sheet)), default_year=2022)
    assert [r.title for r in rows] == ["完善制度"]
    assert rows[0].deadline == ParsedDeadline("date", due=date(2022, 12, 31))


def test_csv_sheet_is_read_the_same_way():
    text = "序号,任务名称,责任单位,完成时限\n一、队伍建设,,,\n1,选配庭长,甲县法院、乙县法院,2022/12/31\n"
    rows = parse_task_rows(read_table("清单.csv", text.encode("utf-8-sig"), max_rows=5000), 2022)
    assert len(rows) == 1
    assert rows[0].section == "队伍建设"
    assert rows[0].unit_names == ["甲县法院", "乙县法院"]
    assert rows[0].deadline == ParsedDeadline("date", due=date(2022, 12, 31))


# ---------------------------------------------------------------- headers


def test_find_header_maps_by_meaning_below_a_title():
    rows = [
        ["甲法院任务清单", "", ""],
        ["（2022年8月制）", "", ""],
        ["序号", " 任务\n名称 ", "工作要求", "责任单位（部门）", "牵头领导", "完成时限：", "备注"],
    ]
    idx, cols = find_header(rows)
    assert idx == 2
    assert cols == {
        "seq": 0,
        "title": 1,
        "requirements": 2,
        "units": 3,
        "leader": 4,
        "deadline": 5,
        "notes": 6,
    }


def test_find_header_prefers_the_better_name():
    _, cols = find_header([["事项", "任务名称", "责任单位", "完成时限"]])
    assert cols["title"] == 1


def test_find_header_lists_missing_columns():
    with pytest.raises(ImportFormatError) as exc:
        find_header([["标题"], ["序号", "任务名称", "牵头领导", "备注"]])
    assert "责任单位" in exc.value.message
    assert "完成时限" in exc.value.message
    assert "任务名称（" not in exc.value.message


def test_find_header_without_any_header():
    with pytest.raises(ImportFormatError) as exc:
        find_header([["甲", "乙"], ["1", "2"]])
    for label in ("任务名称", "责任单位", "完成时限"):
        assert label in exc.value.message


def test_find_header_only_looks_at_first_15_rows():
    rows = [["说明"]] * 15 + [["任务名称", "责任单位", "完成时限"]]
    with pytest.raises(ImportFormatError):
        find_header(rows)
    idx, _ = find_header(rows[1:])
    assert idx == 14


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("阜蒙县人民法院、彰武县人民法院", ["阜蒙县人民法院", "彰武县人民法院"]),
        (
            "甲法院，乙法院,丙法院；丁法院;戊法院/己法院",
            ["甲法院", "乙法院", "丙法院", "丁法院", "戊法院", "己法院"],
        ),
        ("甲法院\n乙法院\r\n丙法院", ["甲法院", "乙法院", "丙法院"]),
        ("甲法院  乙法院\u3000丙法院", ["甲法院", "乙法院", "丙法院"]),
        (" 甲法院 、、乙法院、甲法院、 ", ["甲法院", "乙法院"]),
        ("甲法院／乙法院。", ["甲法院", "乙法院"]),
        ("", []),
        ("  ", []),
    ],
)
def test_split_units(text, expected):
    assert split_units(text) == expected


# ---------------------------------------------------------------- deadlines


def _d(y: int, m: int, d: int) -> ParsedDeadline:
    return ParsedDeadline("date", due=date(y, m, d))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022年10月31日", _d(2022, 10, 31)),
        ("2022年10月31日前", _d(2022, 10, 31)),
        ("2022年10月31号前完成", _d(2022, 10, 31)),
        ("2022年12月底前", _d(2022, 12, 31)),
        ("2022年12月底", _d(2022, 12, 31)),
        ("2022年12月", _d(2022, 12, 31)),
        ("2024年2月", _d(2024, 2, 29)),
        ("2022年2月底前", _d(2022, 2, 28)),
        ("11月30日前", _d(2021, 11, 30)),
        ("12月底前", _d(2021, 12, 31)),
        ("9月", _d(2021, 9, 30)),
        ("2022-12-31", _d(2022, 12, 31)),
        ("2022/12/31", _d(2022, 12, 31)),
        ("2022.11.15", _d(2022, 11, 15)),
        ("2022.11", _d(2022, 11, 30)),
        ("2022-12-31 00:00:00", _d(2022, 12, 31)),
        ("2022-06-30 18:30:00", _d(2022, 6, 30)),
        ("年底前", _d(2021, 12, 31)),
        ("年内", _d(2021, 12, 31)),
        ("2022年底前", _d(2022, 12, 31)),
        ("上半年", _d(2021, 6, 30)),
        ("2022年上半年", _d(2022, 6, 30)),
        ("下半年", _d(2021, 12, 31)),
        ("第一季度", _d(2021, 3, 31)),
        ("一季度", _d(2021, 3, 31)),
        ("第二季度", _d(2021, 6, 30)),
        ("三季度末", _d(2021, 9, 30)),
        ("第四季度", _d(2021, 12, 31)),
        ("２０２２年１０月３１日", _d(2022, 10, 31)),
        ("二〇二二年十月三十一日", _d(2022, 10, 31)),
        ("十二月底前", _d(2021, 12, 31)),
        ("十月二十日前", _d(2021, 10, 20)),
        (" 2022 年 12 月 底前 ", _d(2022, 12, 31)),
        ("2022年12月底前完成，每月报送进展", _d(2022, 12, 31)),
        ("长期坚持", ParsedDeadline("ongoing")),
        ("长期", ParsedDeadline("ongoing")),
        ("持续推进", ParsedDeadline("ongoing")),
        ("长期坚持，每季度报送", ParsedDeadline("ongoing", report_every="quarterly")),
        ("长期坚持（每半年报送一次）", ParsedDeadline("ongoing", report_every="halfyear")),
        ("每月", ParsedDeadline("recurring", recurrence="monthly")),
        ("按月", ParsedDeadline("recurring", recurrence="monthly")),
        ("每季度", ParsedDeadline("recurring", recurrence="quarterly")),
        ("按季度", ParsedDeadline("recurring", recurrence="quarterly")),
        ("每季度末", ParsedDeadline("recurring", recurrence="quarterly")),
        ("每半年", ParsedDeadline("recurring", recurrence="halfyear")),
    ],
)
def test_parse_deadline(text, expected):
    assert parse_deadline(text, default_year=2021) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2022年2月30日", "日期不存在：2022年2月30日"),
        ("2023年2月29日前", "日期不存在：2023年2月29日前"),
        ("13月", "日期不存在：13月"),
        ("2022年13月底前", "日期不存在：2022年13月底前"),
        ("2022-04-31", "日期不存在：2022-04-31"),
        ("第五季度", "季度不存在：第五季度"),
        ("1900年12月", "年份不合理：1900年12月"),
        ("abc", "无法识别的完成时限：abc"),
        ("尽快", "无法识别的完成时限：尽快"),
        ("", "缺少完成时限"),
        ("   ", "缺少完成时限"),
    ],
)
def test_parse_deadline_errors(text, message):
    with pytest.raises(DeadlineError) as exc:
        parse_deadline(text, default_year=2022)
    assert str(exc.value).startswith(message)
    assert isinstance(exc.value, ValueError)


def test_parsed_deadline_is_frozen():
    deadline = parse_deadline("长期坚持", 2022)
    with pytest.raises(AttributeError):
        deadline.kind = "date"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ("每季度报送进展", "quarterly"),
        ("请于每月5日前报送", "monthly"),
        ("按月报送", "monthly"),
        ("每半年总结一次", "halfyear"),
        ("按季度报送，年底总结", "quarterly"),
        ("每月调度，每季度通报", "monthly"),
        ("已开课5堂", None),
        ("上半年报送总结", None),
        ("", None),
    ],
)
def test_parse_report_every(notes, expected):
    assert parse_report_every(notes) == expected


# ---------------------------------------------------------------- dedupe key


def test_key_is_stable_across_reads_and_changes_with_the_title():
    data = _xlsx(VARIED_SHEET, VARIED_MERGES)
    once = parse_task_rows(_read(data), default_year=2023)
    twice = parse_task_rows(_read(data), default_year=2023)
    assert [r.key for r in once] == [r.key for r in twice]
    assert len({r.key for r in once}) == len(once)
    assert all(len(r.key) == 40 for r in once)

    changed = [list(r) for r in VARIED_SHEET]
    changed[5][1] = "配齐配强法庭干警"
    edited = parse_task_rows(_read(_xlsx(changed, VARIED_MERGES)), default_year=2023)
    assert edited[0].key != once[0].key
    assert [r.key for r in edited[1:]] == [r.key for r in once[1:]]


def test_key_ignores_unit_order_and_whitespace_but_not_units():
    a = ParsedRow(row=1, title="选配 庭长", unit_names=["甲法院", "乙法院"])
    b = ParsedRow(row=9, title="选配庭长", unit_names=["乙法院", "甲法院"], notes="不同备注")
    c = ParsedRow(row=1, title="选配庭长", unit_names=["甲法院"])
    assert a.key == b.key
    assert a.key != c.key


def test_unnumbered_heading_is_a_section_but_a_lone_title_is_a_task():
    sheet = [
        ["序号", "任务名称", "责任单位", "完成时限"],
        ["基础设施建设", None, None, None],
        ["1", "改造法庭", "甲县法院", "2022年9月"],
        [None, "新建巡回审判点", None, None],
    ]
    rows = parse_task_rows(_read(_xlsx(sheet, ("A2:D2",))), default_year=2022)
    assert [(r.section, r.title) for r in rows] == [
        ("基础设施建设", "改造法庭"),
        ("基础设施建设", "新建巡回审判点"),
    ]
    assert rows[0].deadline == ParsedDeadline("date", due=date(2022, 9, 30))
    assert rows[1].errors == ["缺少责任单位", "缺少完成时限"]
