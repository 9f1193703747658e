"""/audit: only the 审计员 reads it — browse newest first, filter by time, user, unit,
action and result, export every row of the filter to XLSX, see the chain's state."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit import services
from app.audit.models import AuditEntry
from app.exports.xlsx import FIRST_DATA_ROW, HEADER_ROW
from app.org.models import ROLES
from tests import factories
from tests.audit.conftest import sql

DAY = datetime(2026, 3, 10, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def people(db, tree):
    p = {
        "aud": factories.user("aud", tree.high, ["auditor"]),
        "aud1": factories.user("aud1", tree.inter1, ["auditor"]),
        "a1": factories.user("alice", tree.inter1, ["assigner"]),
        "b1": factories.user("bob", tree.base1, ["staff"]),
        "c2": factories.user("carol", tree.inter2, ["assigner"]),
    }
    db.session.commit()
    return p


@pytest.fixture
def log(db, people):
    """Rows on three days by three people, one anonymous failed login."""
    ev = services.Event
    services.write(
        [
            ev(
                "write", user=people["a1"], at=DAY - timedelta(days=2), detail={"endpoint": "tasks.task_edit"}
            ),
            ev("access.denied", result="denied", user=people["b1"], at=DAY - timedelta(days=1)),
            ev("export", user=people["c2"], at=DAY, detail={"endpoint": "tasks.completion_export"}),
            ev("auth.login_failed", result="failure", username="ghost", at=DAY, detail={"reason": "unknown"}),
            ev("write", result="failure", user=people["b1"], at=DAY + timedelta(hours=1)),
        ]
    )
    db.session.commit()


@pytest.fixture
def as_user(app):
    def _as(user):
        c = app.test_client()
        assert (
            c.post("/login", data={"username": user.username, "password": factories.PASSWORD}).status_code
            == 302
        )
        return c

    return _as


def _listed(html: str) -> list[str]:
    body = html.split('data-testid="audit-rows"')[1].split("</table>")[0]
    return [name for name in ("alice", "bob", "carol", "ghost") if f"<td>{name}</td>" in body]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_the_auditor_reads_the_log(app, db, tree, as_user, role):
    user = factories.user(f"r_{role}", tree.high, [role])
    db.session.commit()
    c = as_user(user)
    for path in ("/audit", "/audit.xlsx"):
        resp = c.get(path)
        resp.close()  # the export is sent from a temporary file
        assert resp.status_code == (200 if role == "auditor" else 403), (path, role)
    assert c.post("/audit/verify").status_code == (302 if role == "auditor" else 403)


def test_newest_first_and_every_field_shown(app, db, people, log, as_user):
    html = as_user(people["aud"]).get("/audit").get_data(as_text=True)
    body = html.split('data-testid="audit-rows"')[1]
    order = [body.index(f"<td>{n}</td>") for n in ("carol", "alice")]
    assert order == sorted(order)  # carol (newest) above alice (oldest)
    assert "乙市中级人民法院" in body and "拒绝访问" in body and "登录失败" in body and "导出" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["alice", "bob", "carol", "ghost"]),
        ({"start": "2026-03-10", "end": "2026-03-10"}, ["bob", "carol", "ghost"]),
        ({"end": "2026-03-08"}, ["alice"]),
        ({"user": "bob"}, ["bob"]),
        ({"action": "export"}, ["carol"]),
        ({"action": "auth.*"}, ["ghost"]),
        ({"result": "denied"}, ["bob"]),
        ({"result": "failure", "user": "bob"}, ["bob"]),
        (
            {"start": "2026-02-30"},
            ["alice", "bob", "carol", "ghost"],
        ),  # a bad date is ignored, with a message
    ],
)
def test_filters(app, db, people, log, as_user, query, expected):
    html = as_user(people["aud"]).get("/audit", query_string=query).get_data(as_text=True)
    assert _listed(html) == expected
    if query.get("start") == "2026-02-30":
        assert "不是有效日期" in html


def test_filter_by_unit_takes_its_subtree(app, db, tree, people, log, as_user):
    html = as_user(people["aud"]).get("/audit", query_string={"unit": tree.inter1.id}).get_data(as_text=True)
    assert _listed(html) == ["alice", "bob"]


def test_an_auditor_below_sees_his_subtree_only(app, db, tree, people, log, as_user):
    """Rows of other courts, and rows with no unit (an unknown name), are the top's."""
    c = as_user(people["aud1"])
    html = c.get("/audit").get_data(as_text=True)
    assert _listed(html) == ["alice", "bob"]
    carol_row = db.session.scalars(select(AuditEntry).where(AuditEntry.username == "carol")).one()
    assert c.get(f"/audit/{carol_row.id}").status_code == 404
    alice_row = db.session.scalars(select(AuditEntry).where(AuditEntry.username == "alice")).one()
    assert c.get(f"/audit/{alice_row.id}").status_code == 200
    resp = c.get("/audit.xlsx")
    data = resp.data
    resp.close()
    book = load_workbook(io.BytesIO(data))
    names = {r[2] for r in book.active.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)}
    assert "carol" not in names and "ghost" not in names and "alice" in names


def test_export_holds_every_row_of_the_filter(app, db, people, as_user):
    """Not capped: 2,600 rows (more than any page) all reach the file; a formula is text."""
    services.write(
        [services.Event("write", username=f"bulk{i}", at=DAY, user=people["b1"]) for i in range(2600)]
        + [services.Event("write", username='=HYPERLINK("http://x","y")', at=DAY)]
        + [services.Event("export", at=DAY, user=people["a1"])]
    )
    db.session.commit()
    resp = as_user(people["aud"]).get("/audit.xlsx", query_string={"action": "write"})
    data = resp.data
    resp.close()
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(data))
    ws = book.active
    assert ws.max_row == HEADER_ROW + 2601
    assert ws["A1"].value.startswith("审计日志") and "截至" in ws["A1"].value
    assert ws.cell(HEADER_ROW, 2).value == "时间" and ws.cell(HEADER_ROW, 7).value == "操作代码"
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}" and ws.page_setup.fitToWidth == 1
    data_rows = range(FIRST_DATA_ROW, ws.max_row + 1)
    actions = {ws.cell(r, 7).value for r in data_rows}
    assert actions == {"write"}
    assert {type(ws.cell(r, 1).value) for r in data_rows} == {int}  # the number is a number
    formula = [ws.cell(r, 3) for r in data_rows if str(ws.cell(r, 3).value).startswith("=")]
    assert len(formula) == 1 and formula[0].data_type == "s" and formula[0].quotePrefix
    # The export is itself on the record, with its filter and its size.
    row = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id.desc())
    ).first()
    assert (
        row.username == "aud" and row.detail["rows"] == 2601 and row.detail["filters"] == {"action": "write"}
    )
    assert row.detail["admin"] is True


def test_chain_status_and_a_row_edited_in_the_database(app, db, people, log, as_user):
    c = as_user(people["aud"])
    assert "尚未校验" in c.get("/audit").get_data(as_text=True)
    rows = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert c.post("/audit/verify").status_code == 302
    status = c.get("/audit").get_data(as_text=True).split('data-testid="chain-status"')[1][:600]
    assert "完整" in status and f"共 {rows} 条" in status
    bob = db.session.scalars(select(AuditEntry).where(AuditEntry.username == "bob")).first()
    sql("UPDATE audit_log SET result = 'success' WHERE id = :id", id=bob.id)
    page = c.get(f"/audit/{bob.id}").get_data(as_text=True)
    assert "与哈希不符" in page
    resp = c.post("/audit/verify", follow_redirects=True)
    assert f"第 {bob.id} 号记录处断链" in resp.get_data(as_text=True)
    status = resp.get_data(as_text=True).split('data-testid="chain-status"')[1][:600]
    assert "断链" in status


def test_there_is_no_way_to_edit_or_delete_a_row(app):
    """No route writes to audit rows but verify (which appends its own)."""
    writes = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("audit.") and r.methods & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert [r.endpoint for r in writes] == ["audit.verify"]
