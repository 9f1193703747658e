"""The assignment page /assignments/<id> shows its whole history — every progress report
with its author and files, the journal of the assignment and its item, the steps and
their files, the splits, the extension requests — in a fixed number of SQL statements,
whoever looks and however long that history grows (issue 11: ≤ 15 per page)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.tasks import services
from app.tasks.models import ExtensionRequest
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai
# What the page sends besides BEGIN (counted by the `count_queries` fixture, which leaves
# BEGIN out): the session, the roles, the security settings, the scoped load and the
# visible units, the item with its units and splits, the reports, the steps, their files,
# the journal, the extension requests and the unread-notification badge. A user who may
# split the assignment also gets the units he may split it to (two statements:
# tasks.helpers.assignable_units loads their alias names too). With BEGIN: 13 and 15.
STATEMENTS = {"assigner": 12, "base1_coord": 14, "base1_staff": 12}


def _photo(name: str) -> FileStorage:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 102, 74)).save(out, "PNG")
    out.seek(0)
    return FileStorage(out, filename=name, content_type="image/png")


@pytest.fixture
def w(db, tree):
    """inter1's assigner gave an item (due 2026-06-30) to base1."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, a=a)


def _history(db, w, reports: int, *, start: int, split_to, steps: int) -> None:
    """`reports` progress reports with a photo each, by base1's staff and coordinator in
    turn; `steps` ticked steps with a file each; one more split and extension request."""
    a, u = w.a, w.u
    for i in range(start, start + reports):
        author = (u.base1_staff, u.base1_coord)[i % 2]
        services.add_report(
            author,
            a,
            text=f"第{i}次进展",
            percent=None,
            files=[_photo(f"现场{i}.png")],
            expected_version=a.version,
            now=NOW + timedelta(minutes=i),
        )
    for i in range(start, start + steps):
        step = services.add_step(
            u.base1_coord, a, kind="check", title=f"检查项{i}", due=None, expected_version=a.version, now=NOW
        )
        services.toggle_step(
            u.base1_coord,
            step,
            done=True,
            files=[_photo(f"清单{i}.png")],
            expected_version=a.version,
            now=NOW,
        )
    pending = select(ExtensionRequest).where(
        ExtensionRequest.assignment_id == a.id, ExtensionRequest.status == "pending"
    )
    for request in db.session.scalars(pending).all():
        services.decide_extension(
            u.assigner, request, grant=False, comment="理由不足", expected_version=a.version, now=NOW
        )
    requester = (u.base1_staff, u.base1_coord)[start % 2]
    services.request_extension(
        requester,
        a,
        new_deadline=date(2026, 7, 31) + timedelta(days=start),
        reason=f"第{start}次申请延期",
        expected_version=a.version,
        now=NOW,
    )
    services.split_assignment(u.base1_coord, a, [split_to], expected_version=a.version, now=NOW)
    db.session.commit()


@pytest.mark.parametrize("who", sorted(STATEMENTS))
def test_the_page_costs_the_same_statements_for_1_or_31_reports(db, w, login, count_queries, who):
    """1 report, 1 step, 1 split, 1 extension request vs 31 reports by two people with a
    photo each, 4 steps, 2 splits, 2 requests: the same statements, within the budget."""
    c, url = login(getattr(w.u, who)), f"/assignments/{w.a.id}"
    _history(db, w, 1, start=0, split_to=w.t.trib1, steps=1)
    with count_queries() as small:
        assert c.get(url).status_code == 200
    _history(db, w, 30, start=1, split_to=w.t.trib2, steps=3)
    with count_queries() as large:
        page = c.get(url).get_data(as_text=True)
    assert len(large) == len(small), f"{who}: {len(small)} → {len(large)} statements"
    assert len(large) <= STATEMENTS[who], large
    # …and the page still shows all of it.
    assert "反馈记录（31）" in page
    for i in range(31):
        assert f"第{i}次进展" in page and f"现场{i}.png" in page
    for name in ("甲一区干警", "甲一区联络员", "甲市中院专班"):  # authors, requesters, the journal
        assert name in page
    assert page.count("☑ 检查项：") == 4 and page.count('href="/attachments/') >= 31 + 4
    assert "东山人民法庭" in page and "西山人民法庭" in page  # the splits, with their units
    assert "第0次申请延期" in page and "第1次申请延期" in page and "理由不足" in page
    assert len(re.findall(r'<li class="border-start', page)) >= 31  # one journal line per report at least
