"""Everything a user typed is escaped wherever it appears: pages, the wall, e-mail.
A title `<script>alert(1)</script>` is shown as text and never becomes markup."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from app.notifications import Notification
from app.reminders.mail import send_pending
from app.reminders.models import Delivery
from app.tasks.models import Assignment, Task
from app.timeutil import utcnow
from app.visits.models import Visit
from tests.reminders.test_mail import Collect, smtp_server  # noqa: F401 — the SMTP fixture

APP_DIR = Path(__file__).resolve().parents[2] / "app"
SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(2)>'
HOSTILE = SCRIPT + ATTR


def test_no_template_or_view_marks_user_text_safe():
    """`|safe` and Markup() appear only where the app built the markup itself (charts, QR
    code, the dashboard's roll-up tree — every text in it escaped: see the hostile unit
    name in tests/dashboard/test_rollup.py; the search's <mark> highlighting — every
    piece of text escaped: tests/search/test_search.py puts <script> in a requirement; a
    comment's @mentions marked in its escaped text: tests/discussion/test_views.py; an
    assignment table's rows — every text escaped: tests/tasks/test_list_pages.py puts
    <script> in a title, and the hostile title below is checked on every list)."""
    allowed = {
        "dashboard/charts.py",
        "auth/account.py",
        "dashboard/tree_html.py",
        "search/tokens.py",
        "discussion/views.py",
        "schedule/gantt.py",  # the Gantt's SVG, built with the charts' escaping helpers
        "tasks/rows_html.py",  # an assignment table's rows and badges (issue 11: macros cost ~3 ms a page)
    }
    for path in APP_DIR.rglob("*"):
        if path.suffix not in (".py", ".html") or "static" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(APP_DIR))
        assert "|safe" not in text.replace(" ", ""), rel
        assert "{% autoescape false" not in text, rel
        if re.search(r"\bMarkup\(", text):
            assert rel in allowed, rel


def test_a_hostile_title_is_text_on_every_page(db, demo, as_user, client):
    """Item lists and details, the dashboards, rankings, the wall, a visit, the search, the
    Gantt and the calendar."""
    db.session.execute(update(Task).values(title=HOSTILE))
    visit = db.session.scalar(select(Visit).order_by(Visit.id))
    visit.title, visit.team = HOSTILE, HOSTILE
    db.session.commit()
    task = db.session.scalar(select(Task).order_by(Task.id))
    a = db.session.scalar(select(Assignment).where(Assignment.task_id == task.id))
    c = as_user("lnfy")
    pages = [
        "/assignments",
        f"/assignments?q={SCRIPT}",
        f"/assignments/{a.id}",
        f"/tasks/{task.id}",
        f"/projects/{task.project_id}",
        "/completion",
        "/dashboard",
        "/today",
        "/my",
        "/rankings?level=base",
        f"/visits/{visit.id}",
        f"/visits/{visit.id}/print",
        "/visits",
        # issue 15: the search, the Gantt (SVG text), the calendar's day list
        f"/search?q={task.title[:6]}",
        f"/projects/{task.project_id}/gantt",
        f"/calendar/{a.deadline.isoformat()}" if a.deadline else "/calendar",
    ]
    seen = 0
    for url in pages:
        resp = c.get(url)
        if resp.status_code == 404:
            continue  # a page this role does not reach
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert SCRIPT not in html and "<img src=x" not in html, url
        seen += "&lt;script&gt;" in html
    assert seen >= 8
    wall = client.get(f"/wall/{demo.wall_token}").get_data(as_text=True)
    assert SCRIPT not in wall and "<img src=x" not in wall


def test_e_mail_is_plain_text_with_the_title_as_typed(db, demo, smtp_server):  # noqa: F811
    """Reminder e-mail is text/plain (nothing to inject into); no header takes a line break."""
    server = smtp_server(Collect())
    user = demo.user("bxzy")
    n = Notification(
        recipient_id=user.id,
        kind="overdue",
        subject_type="Assignment",
        subject_id=1,
        message=f"【督办】“{HOSTILE}”已逾期\r\nBcc: victim@example.com",
        dedupe_key="hostile",
        created_at=utcnow(),
    )
    db.session.add(n)
    db.session.flush()
    db.session.add(
        Delivery(notification_id=n.id, recipient_id=user.id, mode="immediate", created_at=utcnow())
    )
    db.session.commit()
    result = send_pending(utcnow(), digest=False)
    db.session.commit()
    assert result.counts()["sent"] == 1
    (msg,) = server.messages
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    assert msg["Bcc"] is None and "\n" not in msg["Subject"]
    assert HOSTILE in msg.get_content()
