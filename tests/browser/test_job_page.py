"""A background job's page in a real browser (CSP on, CSRF on): a 250-row task list
goes to a job; its page says nobody is running jobs yet; once the runner has run it
(`run_pending`, as the scheduler process would), the page's script sees it done and
opens the preview by itself — no inline script, no console error."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import select

from app.background.runner import run_pending
from app.extensions import db
from app.org.models import User
from app.tasks import services
from app.timeutil import local_today, utcnow
from tests.browser.helpers import login_demo

pytestmark = pytest.mark.browser

ROWS = 250  # more than IMPORT_INLINE_ROWS (200): a background job
NEXT = local_today().year + 1


def _sheet(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "任务名称", "责任单位", "完成时限"])
    for i in range(1, ROWS + 1):
        ws.append([i, f"后台检查事项{i:03d}", "桓仁县人民法院", f"{NEXT}年6月30日"])
    wb.save(path)
    return path


def test_the_job_page_follows_the_job_and_opens_the_preview(live_server, new_page, tmp_path):
    """Upload → job page (waiting for the scheduler) → run → the preview opens by itself."""
    app = live_server.app
    with app.app_context():
        bxzy = db.session.scalars(select(User).where(User.username == "bxzy")).one()
        project = services.create_project(
            bxzy,
            name="后台任务测试项目",
            owner_unit=bxzy.unit,
            start=date(NEXT - 1, 1, 1),
            end=date(NEXT, 12, 31),
            now=utcnow(),
        )
        db.session.commit()
        project_id = project.id
        db.session.remove()
    rec = new_page()
    page = rec.page
    login_demo(page, "bxzy")

    page.goto(f"/imports/tasks?project_id={project_id}")
    page.locator("#file").set_input_files(str(_sheet(tmp_path / "大清单.xlsx")))
    page.get_by_role("button", name="上传并预览").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_test_id("job-state")).to_have_text("排队中")
    expect(page.get_by_test_id("job-message")).to_contain_text("qiangji-scheduler 服务在运行")
    expect(page.get_by_test_id("job-cancel")).to_be_visible()

    assert [state for _, state in run_pending(app)] == ["done"]
    expect(page).to_have_url(re.compile(r"/imports/tasks/\d+$"), timeout=15_000)
    expect(page.locator("main")).to_contain_text(f"共 {ROWS} 行")
    expect(page.locator("main")).to_contain_text("全部通过检查")
    rec.assert_clean()
