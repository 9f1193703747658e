"""GET /api/v1/assignments/{id} (one item, its splits and its paginated history) and the
filtered list as XLSX (/api/v1/assignments.xlsx and the page's /assignments.xlsx)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import and_, func, or_, select
from werkzeug.datastructures import FileStorage

from app.attachments import Attachment
from app.audit.models import AuditEntry
from app.extensions import db
from app.journal import JournalEntry
from app.tasks import list_export, services
from app.tasks.models import Assignment, ProgressReport
from app.timeutil import fmt_date_cn, local_today, utcnow
from tests import factories


@pytest.fixture
def people(tree):
    p = {
        "assigner": factories.user("assigner", tree.inter1, ["assigner"], display_name="甲市中院专班"),
        "coordinator": factories.user("coord", tree.base1, ["coordinator"], display_name="甲一区联络员"),
        "head": factories.user("head", tree.trib1, ["tribunal_head"], display_name="东山庭长"),
        "other": factories.user("other", tree.inter2, ["assigner"]),
        "trib2": factories.user("trib2", tree.trib2, ["tribunal_head"], display_name="西山庭长"),
        "base2": factories.user("base2", tree.base2, ["coordinator"], display_name="甲二区联络员"),
    }
    db.session.commit()
    return p


@pytest.fixture
def api(client, people):
    return {k: factories.bearer(client, u) for k, u in people.items()}


def _photo() -> FileStorage:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buf, "JPEG")
    buf.seek(0)
    return FileStorage(stream=buf, filename="现场.jpg")


@pytest.fixture
def item(tree, people):
    """inter1 → base1 (with requirements and a lead leader), split by base1 to trib1 and
    trib2; trib1 acknowledges its part and reports 40 % with a photo."""
    now = utcnow()
    project = factories.project(people["assigner"], name="人民法庭建设攻坚")
    task = factories.task(
        people["assigner"],
        project,
        title="规范法庭标识",
        requirements="统一门牌、标识",
        lead_leader="张某",
        deadline=date(2099, 6, 30),
    )
    (a,) = factories.assign(people["assigner"], task, tree.base1)
    children = services.split_assignment(
        people["coordinator"], a, [tree.trib1, tree.trib2], expected_version=a.version, now=now
    )
    child = next(c for c in children if c.unit_id == tree.trib1.id)
    services.acknowledge(people["head"], child, expected_version=child.version, now=now)
    services.add_report(
        people["head"],
        child,
        text="门牌已更换",
        percent=40,
        files=[_photo()],
        expected_version=child.version,
        now=now + timedelta(seconds=1),
    )
    db.session.commit()
    return {"a": a.id, "child": child.id, "task": task.id, "project": project.id}


def _history_total(aid: int) -> int:
    """A recount from the tables: the journal of the assignment and its item, and its reports."""
    a = db.session.get(Assignment, aid)
    journal = db.session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(
            or_(
                and_(JournalEntry.object_type == "Assignment", JournalEntry.object_id == a.id),
                and_(JournalEntry.object_type == "Task", JournalEntry.object_id == a.task_id),
            )
        )
    )
    reports = db.session.scalar(
        select(func.count()).select_from(ProgressReport).where(ProgressReport.assignment_id == a.id)
    )
    return journal + reports


# ---------------------------------------------------------------- the item


def test_detail_holds_the_list_item_the_task_and_the_splits(client, api, tree, item):
    """Every field of the list's item, plus the task's fields, derived states, unit and splits."""
    resp = client.get(f"/api/v1/assignments/{item['a']}", headers=api["coordinator"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    listed = client.get(f"/api/v1/assignments?unit={tree.base1.id}", headers=api["coordinator"]).get_json()
    (as_listed,) = [i for i in listed["items"] if i["id"] == item["a"]]
    assert {k: body[k] for k in as_listed} == as_listed
    assert body["task"]["requirements"] == "统一门牌、标识" and body["task"]["lead_leader"] == "张某"
    assert body["task"]["project"] == "人民法庭建设攻坚" and body["task"]["project_id"] == item["project"]
    assert (
        body["task"]["deadline_label"] == "2099-06-30" and body["task"]["owner_unit"]["id"] == tree.inter1.id
    )
    assert body["unit"] == {"id": tree.base1.id, "name": "甲一区人民法院"}
    assert body["assigned_by_unit"]["id"] == tree.inter1.id
    assert body["status"] == "in_progress" and body["status_label"] == "承办中"  # splitting acknowledges
    assert body["due_state"] == "normal" and body["light"] in ("green", "yellow")
    assert body["progress_basis"] == "children" and body["progress"] == 20  # (40 + 0) / 2
    assert body["parent_id"] is None and body["parent"] is None
    assert {(c["unit_id"], c["unit_name"], c["progress"]) for c in body["children"]} == {
        (tree.trib1.id, "东山人民法庭", 40),
        (tree.trib2.id, "西山人民法庭", 0),
    }
    actions = [h["action"] for h in body["history"]["items"]]
    assert "assignment.create" in actions and "task.create" in actions
    created = next(h for h in body["history"]["items"] if h["action"] == "assignment.create")
    assert created["action_label"] == "交办" and created["actor"] == "甲市中院专班"


def test_a_split_shows_its_parent_only_to_who_may_see_it(client, api, item):
    """The tribunal head reads its own part: the parent's id, not the parent court's item."""
    mine = client.get(f"/api/v1/assignments/{item['child']}", headers=api["head"]).get_json()
    assert mine["parent_id"] == item["a"] and mine["parent"] is None
    assert client.get(f"/api/v1/assignments/{item['a']}", headers=api["head"]).status_code == 404
    seen = client.get(f"/api/v1/assignments/{item['child']}", headers=api["coordinator"]).get_json()
    assert seen["parent"]["id"] == item["a"] and seen["parent"]["unit_name"] == "甲一区人民法院"
    report = next(h for h in mine["history"]["items"] if h["kind"] == "report")
    assert (report["text"], report["percent"], report["actor"]) == ("门牌已更换", 40, "东山庭长")
    assert report["action_label"] == "进度反馈" and report["object_type"] == "ProgressReport"
    (photo,) = report["attachments"]
    assert photo["name"] == "现场.jpg" and photo["content_type"] == "image/jpeg"
    assert client.get(photo["url"], headers=api["head"]).status_code == 200
    assert mine["progress_basis"] == "report" and mine["responsible_user"]["display_name"] == "东山庭长"


def test_another_courts_item_is_404_like_a_missing_one(client, api, item):
    """Hidden and missing answer alike (no 403 that would tell the id exists)."""
    hidden = client.get(f"/api/v1/assignments/{item['a']}", headers=api["other"])
    missing = client.get("/api/v1/assignments/987654", headers=api["other"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert client.get(f"/assignments/{item['a']}", headers=api["other"]).status_code == 404  # as the page
    assert client.get("/api/v1/assignments/99999999999", headers=api["other"]).status_code == 404


# ---------------------------------------------------------------- its history


def _reports(people, aid: int, n: int, start=None) -> None:
    """n progress reports through the service (each also journals the status change)."""
    a = db.session.get(Assignment, aid)
    start = start or utcnow()
    for i in range(n):
        services.add_report(
            people["head"],
            a,
            text=f"第{i + 1}次反馈",
            percent=None,
            files=[],
            expected_version=a.version,
            now=start + timedelta(minutes=i + 1),
        )
    db.session.commit()


def test_history_pages_are_newest_first_and_add_up_to_the_total(client, api, people, item):
    _reports(people, item["child"], 6)
    total = _history_total(item["child"])
    assert total >= 6 + 6 + 3  # reports, their journal entries, create/acknowledge/…
    url = f"/api/v1/assignments/{item['child']}?history_per_page=4"
    first = client.get(url, headers=api["head"]).get_json()["history"]
    assert first["total"] == total and first["page"] == 1 and first["per_page"] == 4
    assert len(first["items"]) == 4
    assert first["items"][0]["kind"] == "report" and first["items"][0]["text"] == "第6次反馈"
    second = client.get(first["next"], headers=api["head"]).get_json()["history"]
    assert second["page"] == 2
    keys = lambda h: [(e["kind"], e["id"]) for e in h["items"]]  # noqa: E731
    assert keys(second) and not set(keys(first)) & set(keys(second))
    seen, page = [], first
    while True:
        seen += page["items"]
        if page["next"] is None:
            break
        page = client.get(page["next"], headers=api["head"]).get_json()["history"]
    assert len(seen) == total and len({(e["kind"], e["id"]) for e in seen}) == total
    times = [datetime.fromisoformat(e["at"]) for e in seen]
    assert times == sorted(times, reverse=True)
    past = client.get(f"{url}&history_page=99", headers=api["head"]).get_json()["history"]
    assert past["items"] == [] and past["total"] == total and past["next"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("history_per_page=201", "1 到 200"),
        ("history_per_page=0", "1 到 200"),
        ("history_page=0", "history_page"),
        ("history_page=-1", "history_page"),
        ("history_page=abc", "整数"),
        ("history_page=99999999999999999999999", "history_page"),
        ("page=2", "不支持参数 page"),
    ],
)
def test_bad_history_paging_is_a_clear_400(client, api, item, query, message):
    resp = client.get(f"/api/v1/assignments/{item['a']}?{query}", headers=api["coordinator"])
    assert resp.status_code == 400 and message in resp.get_json()["error"]


def _bulk_history(aid: int, author_id: int, n: int) -> None:
    """n lines of history written directly (half journal entries, half reports with a file)."""
    a = db.session.get(Assignment, aid)
    start = utcnow()
    for i in range(n):
        at = start + timedelta(seconds=i + 1)
        if i % 2:
            db.session.add(
                JournalEntry(
                    at=at,
                    actor_id=author_id,
                    action="assignment.remind",
                    object_type="Assignment",
                    object_id=a.id,
                    unit_id=a.unit_id,
                    after={"message": f"催办{i}"},
                )
            )
            continue
        report = ProgressReport(assignment_id=a.id, author_id=author_id, text=f"反馈{i}", created_at=at)
        db.session.add(report)
        db.session.flush()
        db.session.add(
            Attachment(
                owner_type="ProgressReport",
                owner_id=report.id,
                unit_id=a.unit_id,
                original_name="证明.pdf",
                stored_name=f"bulk{aid}-{i}",
                content_type="application/pdf",
                size=9,
                sha256="0" * 64,
                uploaded_by_id=author_id,
                created_at=at,
            )
        )
    db.session.commit()


@pytest.mark.parametrize("per_page", [50, 200])
def test_query_count_does_not_grow_with_the_history(client, api, people, tree, count_queries, per_page):
    """5 lines of history or 300: the same statements."""
    project = factories.project(people["assigner"])
    short, long = (
        factories.assign(
            people["assigner"], factories.task(people["assigner"], project, title=t), tree.trib1
        )[0]
        for t in ("短", "长")
    )
    db.session.commit()
    _bulk_history(short.id, people["head"].id, 5)
    _bulk_history(long.id, people["head"].id, 300)
    short_id, long_id = short.id, long.id
    client.get(f"/api/v1/assignments/{short_id}", headers=api["head"])  # the token's first use
    with count_queries() as small:
        resp = client.get(f"/api/v1/assignments/{short_id}?history_per_page={per_page}", headers=api["head"])
    assert resp.status_code == 200 and len(resp.get_json()["history"]["items"]) == _history_total(short_id)
    with count_queries() as large:
        resp = client.get(f"/api/v1/assignments/{long_id}?history_per_page={per_page}", headers=api["head"])
    history = resp.get_json()["history"]
    assert history["total"] == _history_total(long_id) > 300 and len(history["items"]) == per_page
    assert len(large) == len(small), f"{len(small)} → {len(large)} statements"
    assert len(large) <= 15, "\n".join(s.replace("\n", " ") for s in large)


# ---------------------------------------------------------------- the list as XLSX


def _sheet(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == list_export.XLSX
    assert resp.headers["Content-Disposition"].startswith("attachment")
    data = resp.data
    resp.close()  # a file response holds its temporary file until closed
    book = load_workbook(io.BytesIO(data))
    ws = book.worksheets[0]
    title, header, *rows = list(ws.iter_rows(values_only=True))
    assert title[0].endswith(f"截至{fmt_date_cn(local_today())}")  # the title row, then the header
    assert ws.print_title_rows == "$2:$2" and ws.freeze_panes == "A3"
    return book, header, rows


def _many(people, tree, n: int) -> list[int]:
    """n items assigned by inter1 to its base courts, deadlines a day apart (some overdue)."""
    project = factories.project(people["assigner"], name="审判质效提升年")
    ids = []
    for i in range(n):
        task = factories.task(
            people["assigner"], project, title=f"事项{i:02d}", deadline=date(2026, 1, 1) + timedelta(days=i)
        )
        ids += [a.id for a in factories.assign(people["assigner"], task, tree.base1, tree.base2)]
    db.session.commit()
    return ids


def test_export_holds_every_filtered_row_across_batches(client, api, people, tree, monkeypatch):
    """More rows than one batch: all of them, in the list's order, and nothing else."""
    monkeypatch.setattr(list_export, "EXPORT_BATCH", 4)
    _many(people, tree, 11)  # 22 assignments
    query = "status=open&from=2026-01-03&to=2026-01-09"
    listed = client.get(f"/api/v1/assignments?{query}&per_page=500", headers=api["assigner"]).get_json()
    assert listed["total"] == 14  # 7 days × 2 courts
    book, header, rows = _sheet(client.get(f"/api/v1/assignments.xlsx?{query}", headers=api["assigner"]))
    assert header[:3] == ("编号", "项目", "任务名称") and "交办单位" in header and "红黄绿灯" in header
    assert [r[0] for r in rows] == [i["id"] for i in listed["items"]]
    assert book.properties.title == "甲市中级人民法院承办事项"
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    first = by_id[listed["items"][0]["id"]]
    assert first["项目"] == "审判质效提升年" and first["交办单位"] == "甲市中级人民法院"
    assert first["完成时限"] == listed["items"][0]["deadline"] and first["状态"] == "待签收"
    everything = _sheet(client.get("/api/v1/assignments.xlsx", headers=api["assigner"]))[2]
    assert len(everything) == 22  # no filter: every row, no cap


def test_export_filters_match_the_list(client, api, people, tree, item):
    """Each filter of the list narrows the export the same way."""
    _many(people, tree, 3)
    for query in (
        f"unit={tree.base2.id}",
        f"project={item['project']}",
        "status=overdue",
        "status=in_progress",
        "to=2026-01-02",
    ):
        listed = client.get(f"/api/v1/assignments?{query}&per_page=500", headers=api["assigner"]).get_json()
        rows = _sheet(client.get(f"/api/v1/assignments.xlsx?{query}", headers=api["assigner"]))[2]
        assert [r[0] for r in rows] == [i["id"] for i in listed["items"]], query
        assert 0 < len(rows) < 9, query  # each filter keeps some rows and drops others


def test_export_is_audited_with_its_row_count(client, api, people, tree):
    _many(people, tree, 2)
    _sheet(client.get(f"/api/v1/assignments.xlsx?unit={tree.base1.id}", headers=api["assigner"]))
    (row,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
    assert row.username == "assigner" and row.detail["endpoint"] == "api.assignment_list_xlsx"
    assert row.detail["rows"] == 2 and row.detail["filters"] == {"unit": str(tree.base1.id)}
    assert row.detail["file"].endswith(".xlsx")


def test_export_sees_only_the_callers_scope(client, api, people, tree):
    _many(people, tree, 2)
    assert _sheet(client.get("/api/v1/assignments.xlsx", headers=api["other"]))[2] == []
    hidden = client.get(f"/api/v1/assignments.xlsx?unit={tree.base1.id}", headers=api["other"])
    assert hidden.status_code == 404  # as the list answers for a unit outside the scope


@pytest.mark.parametrize(
    "query",
    [
        "unit=abc",
        "unit=-1",
        "unit=0",
        "unit=99999999999",
        "project=1.5",
        "status=weird",
        "from=2026-02-30",
        "to=tomorrow",
        "page=2",  # not a filter: the export has no pages
        "per_page=10",
    ],
)
def test_bad_export_filters_are_400_as_on_the_list(client, api, query):
    resp = client.get(f"/api/v1/assignments.xlsx?{query}", headers=api["assigner"])
    assert resp.status_code == 400 and resp.get_json()["error"]
    if not query.startswith(("page", "per_page")):
        assert client.get(f"/api/v1/assignments?{query}", headers=api["assigner"]).status_code == 400


# ---------------------------------------------------------------- the page's export


def test_the_list_page_exports_what_it_shows(client, login, people, tree, monkeypatch):
    """The 导出 button keeps the page's filters (not its page number); the file holds
    every row of them, also past one batch."""
    monkeypatch.setattr(list_export, "EXPORT_BATCH", 3)
    _many(people, tree, 8)
    login(people["assigner"])
    page = client.get(f"/assignments?unit={tree.base2.id}&q=事项0&sort=-deadline&page=1&size=10")
    html = page.get_data(as_text=True)
    link = re.search(r'href="([^"]*/assignments\.xlsx[^"]*)"[^>]*data-testid="export-xlsx"', html).group(1)
    link = link.replace("&amp;", "&")
    assert f"unit={tree.base2.id}" in link and "sort=-deadline" in link and "page=" not in link
    shown = re.findall(r"事项0\d", html)
    book, header, rows = _sheet(client.get(link))
    assert [r[2] for r in rows] == [f"事项0{i}" for i in range(7, -1, -1)]  # newest deadline first
    assert {r[4] for r in rows} == {"甲二区人民法院"}
    assert set(shown) == {r[2] for r in rows}
    (row,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
    assert row.detail["endpoint"] == "tasks.assignment_export" and row.detail["rows"] == 8


def test_the_page_export_ignores_bad_filters_like_the_page(client, login, people, tree):
    _many(people, tree, 2)
    login(people["assigner"])
    for query in ("unit=abc", "unit=99999999999", "status=weird", "from=2026-02-30", "category=-5"):
        assert client.get(f"/assignments?{query}").status_code == 200
        rows = _sheet(client.get(f"/assignments.xlsx?{query}"))[2]
        assert len(rows) == (0 if query == "category=-5" else 4), query
