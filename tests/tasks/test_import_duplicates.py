"""An import does not add an item twice by accident: a row whose title (normalised:
NFKC, trimmed, whitespace collapsed, Latin case ignored) is already an item of the
project, or an earlier row's title, is marked a duplicate in the preview and left out
unless the user ticks "仍要导入" (per row or all) — on the page and through a background
commit; a row for a unit with nobody to work on it is flagged; the commit writes exactly
the rows kept, all or nothing; the preview stays one set-based pass."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import lxml.html
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.background.runner import run_pending
from app.importing import ImportBatch
from app.tasks import importer
from app.tasks.models import Assignment, Task
from app.tasks.parsing import normalise_title
from tests import factories

NOW = datetime(2026, 2, 10, 2, 30)
HEADER = ["序号", "任务名称", "责任单位", "完成时限"]
EXISTING = "选配人民法庭庭长 ABC"


@pytest.fixture
def world(db, tree):
    """甲市中院's assigner with a 2026 project holding one item (EXISTING, assigned to
    甲一区); people in 甲一区, 甲二区, 东山 and 西山 — nobody in 南山 (trib3)."""
    owner = factories.user("importer", tree.inter1, ["assigner"])
    factories.user("b1_head", tree.base1, ["coordinator"])
    factories.user("b2_head", tree.base2, ["coordinator"])
    factories.user("t1_head", tree.trib1, ["tribunal_head"])
    factories.user("t2_head", tree.trib2, ["tribunal_head"])
    project = factories.project(owner, start=date(2026, 1, 1), end=date(2026, 12, 31), now=NOW)
    item = factories.task(owner, project, title=EXISTING, deadline=date(2026, 6, 30), now=NOW)
    factories.assign(owner, item, tree.base1, now=NOW)
    db.session.commit()
    return type("World", (), {"owner": owner, "project": project, "tree": tree, "item": item})


def _sheet(rows: list[tuple[str, str]]) -> bytes:
    """(title, unit) per row, all due 2026-06-30; the first item is sheet row 2."""
    wb = Workbook()
    wb.active.append(HEADER)
    for i, (title, unit) in enumerate(rows, start=1):
        wb.active.append([i, title, unit, "2026年6月30日"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _titles(db, project) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Task.title).where(Task.project_id == project.id)))


def _preview(world, rows):
    return importer.preview(world.owner, world.project, "清单.xlsx", _sheet(rows), now=NOW)


def _verdicts(batch) -> dict[int, object]:
    """{row: the duplicate mark (None, {"row": n} or {"task_id", "title"})}."""
    return {r["row"]: r["duplicate"] for r in batch.rows}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (EXISTING, "  选配人民法庭庭长   abc "),  # trimmed, whitespace run, case
        (EXISTING, "选配人民法庭庭长\u3000ＡＢＣ"),  # full-width space and letters (NFKC)
        (EXISTING, "选配人民法庭庭长\tAbc"),
        ("法庭（一）建设", "法庭(一)建设"),  # full-width brackets
    ],
)
def test_normalised_titles_are_equal(a, b):
    assert normalise_title(a) == normalise_title(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [(EXISTING, "选配人民法庭副庭长 ABC"), ("法庭建设", "法庭建设一")],
)
def test_different_titles_stay_different(a, b):
    assert normalise_title(a) != normalise_title(b)


def test_a_title_already_in_the_project_is_left_out(db, world):
    """Row 2 names the project's item (written differently, for another unit): marked
    with that item, left out; row 3 is new and imported. Nothing is an error."""
    batch = _preview(world, [("选配人民法庭庭长　ａｂｃ", "甲二区人民法院"), ("新的事项", "甲二区人民法院")])
    assert _verdicts(batch) == {2: {"task_id": world.item.id, "title": EXISTING}, 3: None}
    assert importer.bad_rows(batch) == [] and importer.duplicate_rows(batch) == [2]
    db.session.commit()
    result = importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    assert (result["created"], result["duplicates"], result["already"]) == (1, 1, 0)
    assert _titles(db, world.project) == sorted([EXISTING, "新的事项"])


def test_the_same_title_twice_in_the_sheet(db, world):
    """The second of two rows with the same title (for other units) is a duplicate of the
    first; only the first is imported."""
    batch = _preview(world, [("法庭制度建设", "甲一区人民法院"), ("法庭制度建设 ", "甲二区人民法院")])
    assert _verdicts(batch) == {2: None, 3: {"row": 2}}
    db.session.commit()
    importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    assigned = db.session.execute(
        select(Task.title, Assignment.unit_id).join(Assignment, Assignment.task_id == Task.id)
    ).all()
    assert ("法庭制度建设", world.tree.base1.id) in assigned
    assert all(unit != world.tree.base2.id for title, unit in assigned if title == "法庭制度建设")


def test_a_duplicate_the_user_keeps_is_imported(db, world):
    """Ticked "仍要导入": the existing title is added again, the sheet's second row too."""
    batch = _preview(
        world,
        [(EXISTING, "甲二区人民法院"), ("法庭制度建设", "甲一区人民法院"), ("法庭制度建设", "东山人民法庭")],
    )
    db.session.commit()
    result = importer.commit(world.owner, batch, exclude_rows=[], keep_rows=[2, 4], now=NOW)
    assert (result["created"], result["duplicates"]) == (3, 0)
    assert _titles(db, world.project) == sorted([EXISTING, EXISTING, "法庭制度建设", "法庭制度建设"])


def test_the_commit_writes_exactly_the_kept_rows(db, world):
    """New rows, a duplicate kept, a duplicate not kept, a bad row excluded, a row already
    imported by an earlier commit of the same sheet: exactly the new and the kept rows,
    each assigned to its unit — and the batch says what became of the others."""
    first = _preview(world, [("已导入的事项", "甲一区人民法院")])
    db.session.commit()
    importer.commit(world.owner, first, exclude_rows=[], now=NOW)
    db.session.commit()
    rows = [
        ("新事项一", "甲一区人民法院"),  # 2
        (EXISTING.lower(), "东山人民法庭"),  # 3: duplicate of the item, kept
        ("新事项一", "甲二区人民法院"),  # 4: duplicate of row 2, not kept
        ("新事项二", "不存在的法院"),  # 5: an error, excluded
        ("已导入的事项", "甲一区人民法院"),  # 6: imported before (same title and unit)
        ("新事项三", "西山人民法庭"),  # 7
    ]
    batch = _preview(world, rows)
    assert importer.bad_rows(batch) == [5]
    assert [r["row"] for r in batch.rows if r["skip"]] == [6]
    assert _verdicts(batch)[3]["task_id"] == world.item.id and _verdicts(batch)[4] == {"row": 2}
    db.session.commit()
    before = set(db.session.scalars(select(Task.id)))
    result = importer.commit(world.owner, batch, exclude_rows=[5], keep_rows=[3], now=NOW)
    db.session.commit()
    new = db.session.execute(
        select(Task.title, Assignment.unit_id)
        .join(Assignment, Assignment.task_id == Task.id)
        .where(Task.id.not_in(before))
        .order_by(Task.id)
    ).all()
    t = world.tree
    assert new == [("新事项一", t.base1.id), (EXISTING.lower(), t.trib1.id), ("新事项三", t.trib2.id)]
    assert {k: result[k] for k in ("created", "excluded", "already", "duplicates")} == {
        "created": 3,
        "excluded": [5],
        "already": 1,
        "duplicates": 1,
    }


def test_an_item_added_after_the_preview_with_the_same_title_cancels_the_commit(db, world):
    """All or nothing: a row that was new at the preview but whose title is an item now
    refuses the whole commit (the user sees the duplicate in a new preview)."""
    batch = _preview(world, [("新事项一", "甲一区人民法院"), ("新事项二", "甲一区人民法院")])
    db.session.commit()
    factories.task(world.owner, world.project, title="新事项二", now=NOW)
    db.session.commit()
    with pytest.raises(importer.ServiceError, match="第 3 行同名"):
        importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    db.session.rollback()
    assert _titles(db, world.project) == sorted([EXISTING, "新事项二"])


def test_a_unit_with_nobody_is_flagged_in_the_preview(db, world):
    """南山法庭 has no account: its row is flagged with a message naming it and cannot be
    imported unless excluded; excluded, the other row alone is written."""
    batch = _preview(world, [("南山的事项", "南山人民法庭"), ("东山的事项", "东山人民法庭")])
    errors = {r["row"]: r["errors"] for r in batch.rows}
    assert errors[3] == []
    (message,) = errors[2]
    assert "南山人民法庭" in message and "没有" in message
    assert importer.bad_rows(batch) == [2]
    db.session.commit()
    with pytest.raises(importer.ServiceError, match="第 2 行有错误"):
        importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    db.session.rollback()
    assert importer.commit(world.owner, batch, exclude_rows=[2], now=NOW)["created"] == 1
    assert _titles(db, world.project) == sorted([EXISTING, "东山的事项"])


def test_an_item_the_user_cannot_see_is_no_duplicate(db, world):
    """A title held only by an item the importer does not see (another court's, in a
    project both may add to) says nothing of it."""
    t = world.tree
    high = factories.user("gy_zb", t.high, ["assigner"])
    other = factories.user("yz_zb", t.inter2, ["assigner"])
    factories.user("y1_head", t.base3, ["coordinator"])
    shared = factories.project(high, name="全省项目", now=NOW)
    theirs = factories.task(other, shared, title="乙市的事项", now=NOW)
    factories.assign(other, theirs, t.base3, now=NOW)
    db.session.commit()
    batch = importer.preview(
        world.owner, shared, "清单.xlsx", _sheet([("乙市的事项", "甲一区人民法院")]), now=NOW
    )
    assert _verdicts(batch) == {2: None}


# ---------------------------------------------------------------- through the pages


@pytest.fixture
def page(app, client, login, world):
    login(world.owner)

    def upload(rows) -> tuple[int, str]:
        resp = client.post(
            "/imports/tasks",
            data={"project_id": str(world.project.id), "file": (io.BytesIO(_sheet(rows)), "清单.xlsx")},
            content_type="multipart/form-data",
        )
        location = resp.headers.get("Location", "")
        if "/jobs/" in location:
            assert run_pending(app)[0][1] == "done"
            job = client.get(location + ".json").get_json()
            location = job["link_url"]
        batch_id = int(location.rstrip("/").split("/")[-1])
        return batch_id, client.get(f"/imports/tasks/{batch_id}").get_data(as_text=True)

    return upload


ROWS = [(EXISTING.upper(), "甲二区人民法院"), ("新事项", "甲一区人民法院"), ("新事项", "东山人民法庭")]


def test_the_preview_page_marks_duplicates_with_a_keep_box(db, world, page):
    """Each duplicate says of what (a link to the item, or the row), has a "仍要导入" box
    instead of 排除, and the page offers to keep them all."""
    _, html = page(ROWS)
    doc = lxml.html.fromstring(html)
    assert doc.xpath('//*[@data-testid="duplicate-count"]')[0].text_content().startswith("2 行重复")
    first = doc.xpath('//*[@data-testid="duplicate-2"]')[0]
    assert first.xpath(".//a/@href") == [f"/tasks/{world.item.id}"]
    assert "与第 3 行任务名称相同" in doc.xpath('//*[@data-testid="duplicate-4"]')[0].text_content()
    assert doc.xpath('//input[@name="keep_rows"]/@value') == ["2", "4"]
    assert doc.xpath('//input[@name="exclude_rows"]/@value') == ["3"]
    assert doc.xpath('//input[@name="keep_all"][@value="1"]')
    assert any("select_all" in s for s in doc.xpath("//script/@src"))


@pytest.mark.parametrize(
    ("form", "created"),
    [
        ({}, ["新事项"]),
        ({"keep_rows": ["4"]}, ["新事项", "新事项"]),
        ({"keep_all": "1"}, [EXISTING.upper(), "新事项", "新事项"]),
    ],
    ids=["none-kept", "one-kept", "all-kept"],
)
def test_commit_through_the_page(db, world, client, page, form, created):
    batch_id, _ = page(ROWS)
    resp = client.post(f"/imports/tasks/{batch_id}/commit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert _titles(db, world.project) == sorted([EXISTING, *created])


@pytest.mark.parametrize("keep", [["2"], []], ids=["kept", "not-kept"])
def test_a_background_commit_honours_the_choice(app, db, world, client, page, keep):
    """A sheet past IMPORT_INLINE_ROWS is committed by a job: the rows kept on the page
    are the rows it imports."""
    app.config.update(IMPORT_INLINE_ROWS=2)
    batch_id, html = page(ROWS)
    assert 'name="keep_rows" value="2"' in html
    resp = client.post(f"/imports/tasks/{batch_id}/commit", data={"keep_rows": keep})
    assert "/jobs/" in resp.headers["Location"]
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch_id).rows[0]["keep"] is bool(keep)
    assert run_pending(app)[0][1] == "done"
    assert _titles(db, world.project) == sorted([EXISTING, "新事项", *([EXISTING.upper()] if keep else [])])


def test_a_refused_commit_keeps_the_ticks(db, world, client, page):
    """A commit refused for a bad row shows the preview again with the kept rows still ticked."""
    batch_id, _ = page([*ROWS, ("坏的事项", "不存在的法院")])
    resp = client.post(f"/imports/tasks/{batch_id}/commit", data={"keep_rows": ["2"]})
    assert resp.status_code == 400 and "第 5 行有错误" in resp.get_data(as_text=True)
    doc = lxml.html.fromstring(resp.get_data(as_text=True))
    assert doc.xpath('//input[@name="keep_rows"][@checked]/@value') == ["2"]
    assert _titles(db, world.project) == [EXISTING]


# ---------------------------------------------------------------- one pass


def _numbered(n: int, tag: str) -> bytes:
    """n rows, every other one repeating the title before it (for another unit)."""
    units = ["甲一区人民法院", "甲二区人民法院"]
    return _sheet([(f"{tag}事项{i - i % 2:04d}", units[i % 2]) for i in range(n)])


def test_duplicates_cost_no_statement_per_row(db, world, count_queries):
    """Preview and commit of 40 and of 400 rows, half of them duplicates: the same
    number of statements."""
    counts = {}
    for n in (40, 400):
        with count_queries() as check:
            batch = importer.preview(world.owner, world.project, "清单.xlsx", _numbered(n, f"{n}行"), now=NOW)
        assert len(importer.duplicate_rows(batch)) == n // 2
        db.session.commit()
        with count_queries() as commit:
            result = importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
        db.session.commit()
        assert (result["created"], result["duplicates"]) == (n // 2, n // 2)
        counts[n] = (len(check), len(commit))
    assert counts[40] == counts[400], counts
    n_items = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == world.project.id)
    )
    assert n_items == 1 + 20 + 200
    assert not [
        t for t in _titles(db, world.project) if re.fullmatch(r"\d+行事项\d{4}", t) is None and t != EXISTING
    ]
