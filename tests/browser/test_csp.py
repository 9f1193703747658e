"""The Content-Security-Policy in a real browser: headless Chromium opens the app's
pages under the policy and reports no violation (no inline script, style or handler
left), and the behaviour moved out of on* attributes into static/js/app.js still works:
confirm before a destructive button, navigate when a select changes, print."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.tasks.models import Assignment, Task
from app.visits.models import Visit

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Demo@2026"
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


@pytest.fixture(scope="module")
def demo_server(standard_templates):
    """The live server with the demo's items, visits and checklists."""
    from app.dashboard import services as display_services
    from app.org.models import Unit, User
    from app.seed.demo import load_demo_checklists, load_demo_tasks, load_demo_visits
    from app.timeutil import utcnow

    server = standard_templates
    with server.app.app_context():
        now = utcnow()
        load_demo_tasks(now)
        load_demo_visits(now)
        load_demo_checklists(now)
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        benxi = db.session.scalar(select(Unit).where(Unit.name == "本溪市中级人民法院"))
        _token, server.wall_token = display_services.create_display(admin, benxi, label="大厅", now=now)
        server.ids = {
            "assignment": db.session.scalar(select(Assignment.id).order_by(Assignment.id)),
            "task": db.session.scalar(select(Task.id).order_by(Task.id)),
            "visit": db.session.scalar(select(Visit.id).order_by(Visit.id)),
        }
        db.session.commit()
        db.session.remove()
    return server


def _open(new_page, username: str | None = None):
    rec = new_page()
    rec.context.add_init_script(WATCH)
    page = rec.page
    if username:
        page.goto("/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(re.compile(r"/$"))
    return rec


def _visit(rec, url: str) -> None:
    resp = rec.page.goto(url)
    assert resp is not None and resp.status == 200, url
    csp = resp.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
    rec.page.wait_for_load_state("load")
    assert rec.page.evaluate("window.__csp") == [], url


def test_pages_run_under_the_policy_without_a_violation(demo_server, new_page):
    """The pages people use every day, as the reviewer and the 系统管理员, and the wall."""
    ids = demo_server.ids
    rec = _open(new_page, "lnfy")
    for url in (
        "/",
        "/dashboard",
        "/today",
        "/trends",
        "/rankings",
        "/rankings/print",
        "/my",
        "/assignments",
        f"/assignments/{ids['assignment']}",
        f"/tasks/{ids['task']}",
        "/completion",
        "/completion/print",
        "/visits",
        f"/visits/{ids['visit']}",
        f"/visits/{ids['visit']}/print",
        "/checklists",
        "/checklists/matrix?family=wuhua",
        "/checklists/templates",
        "/notifications",
    ):
        _visit(rec, url)
    # Progress bars take their width from a class now, not a style attribute.
    rec.page.goto("/checklists/matrix?family=wuhua")
    widths = rec.page.eval_on_selector_all(
        ".progress-bar", "bars => bars.map(b => [b.className, b.getBoundingClientRect().width])"
    )
    assert widths and all("pct-" in cls for cls, _ in widths)
    rec.assert_clean()

    admin = _open(new_page, "admin")
    for url in ("/admin/units", "/admin/users", "/admin/reminders/calendar", "/admin/reminders/runs"):
        _visit(admin, url)
    admin.assert_clean()

    wall = _open(new_page)
    _visit(wall, f"/wall/{demo_server.wall_token}")
    wall.assert_clean()


def test_confirm_navigate_and_print_work_from_the_static_script(demo_server, new_page):
    """data-confirm asks first (and cancelling sends nothing); data-navigate reloads the
    visit form for the picked organiser; data-print prints."""
    admin = _open(new_page, "admin")
    page = admin.page
    _visit(admin, "/admin/reminders/runs")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="立即运行").click()
    assert asked == ["立即按今天运行一次提醒？已发送过的不会重复发送。"]
    assert page.url.endswith("/admin/reminders/runs")
    admin.assert_clean()

    assigner = _open(new_page, "bxzy")
    page = assigner.page
    _visit(assigner, "/visits/new")
    select_ = page.locator("select[data-navigate]")
    options = select_.locator("option").evaluate_all("opts => opts.map(o => o.value)")
    assert len(options) > 1
    with page.expect_navigation():
        select_.select_option(options[-1])
    assert page.url.endswith(f"/visits/new?organizer={options[-1]}")
    assert page.evaluate("window.__csp") == []

    _visit(assigner, f"/visits/{demo_server.ids['visit']}/print")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed") == 1
    assigner.assert_clean()
