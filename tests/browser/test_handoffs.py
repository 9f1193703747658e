"""Every hand-off tells the next person exactly once, in a real browser (issue 12, "done
when"), every step a fresh login on the demo data:

1. 本溪中院 imports a one-row list for 桓仁县法院 → 桓仁 splits it to 华来法庭 → 华来 signs
   and reports 50 % → reports 100 % for review → 桓仁 returns it (the 50 %→100 % stays,
   shown with the reason) → 华来 reports again → 桓仁 closes it.
2. 本溪中院's leader registers a finding for 田师付法庭 on a recorded visit → 田师付
   answers it → the verifier returns it → 田师付 answers again → the verifier 销号.

After each step: the person the hand-off is for has exactly one new notification about
the item (shown in their notification centre, leading to the item), nobody else has any,
and the item's 办理记录 shows the step.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.notifications import Notification
from app.org.models import User
from app.seed.demo import DEMO_PASSWORD
from app.tasks import services as task_services
from app.tasks.models import Assignment
from app.timeutil import local_today, utcnow

pytestmark = pytest.mark.browser

TITLE = "规范诉讼服务中心导引标识"
FINDING = "法庭调解室未设置录音录像设备"


class Told:
    """Notifications about one item's assignments, per username, read from the database
    between steps: `step(expected)` asserts that what was added since the last step is
    exactly `expected` ({username: kind}), one each."""

    def __init__(self, app, task_title: str) -> None:
        self.app, self.title, self.seen = app, task_title, Counter()

    def _now(self) -> Counter:
        with self.app.app_context():
            from sqlalchemy import and_, or_

            from app.tasks.models import Task

            tasks = select(Task.id).where(Task.title == self.title)
            assignments = select(Assignment.id).where(Assignment.task_id.in_(tasks))
            rows = db.session.execute(
                select(User.username, Notification.kind)
                .join(User, User.id == Notification.recipient_id)
                .where(
                    or_(  # a new item is told about the item, a later step about the assignment
                        and_(Notification.subject_type == "Task", Notification.subject_id.in_(tasks)),
                        and_(
                            Notification.subject_type == "Assignment",
                            Notification.subject_id.in_(assignments),
                        ),
                    )
                )
            ).all()
            db.session.remove()
        return Counter((username, kind) for username, kind in rows)

    def step(self, expected: dict[str, str], what: str) -> None:
        now = self._now()
        added = now - self.seen
        assert added == Counter({(u, k): 1 for u, k in expected.items()}), f"{what}: told {dict(added)}"
        self.seen = now


def _login(rec, username: str) -> None:
    page = rec.page
    page.context.clear_cookies()
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _flash(page, text: str) -> None:
    expect(page.locator("main > .alert").filter(has_text=text)).to_be_visible()


def _from_notifications(rec, username: str, title: str) -> None:
    """Log in as `username`, open the newest notification about `title`: it leads to the item."""
    _login(rec, username)
    page = rec.page
    page.goto("/notifications")
    page.get_by_test_id("notifications").get_by_role("link", name=re.compile(re.escape(title))).first.click()
    expect(page.get_by_test_id("assignment-title")).to_contain_text(title)


def _in_history(page, label: str, count: int) -> None:
    """The item's 办理记录 shows `label` as a step `count` times."""
    history = page.locator("ol.timeline")
    expect(history.locator("strong").filter(has_text=re.compile(rf"^{re.escape(label)}$"))).to_have_count(
        count
    )


def _report(page, text: str, percent: int, submit: bool) -> None:
    form = page.get_by_test_id("report-form")
    form.get_by_label("进展情况").fill(text)
    form.get_by_label("完成百分比").fill(str(percent))
    if submit:
        form.get_by_label("已完成，提交审核").check()
    form.get_by_role("button", name="提交", exact=True).click()
    _flash(page, "已提交审核。" if submit else "已反馈进度。")


def _review(page, decision: str, comment: str, flash: str) -> None:
    form = page.get_by_test_id("review-form")
    form.get_by_label("审核结论").select_option(label=decision)
    form.get_by_label("意见 / 退回理由").fill(comment)
    form.get_by_role("button", name="提交审核结论").click()
    _flash(page, flash)


def _sheet() -> bytes:
    wb = Workbook()
    wb.active.append(["序号", "任务名称", "工作要求", "责任单位", "完成时限"])
    due = local_today() + timedelta(days=60)
    wb.active.append([1, TITLE, "导引标识清晰、规范", "桓仁满族自治县人民法院", due.isoformat()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_item_from_import_to_closing_tells_each_next_person_once(live_server, new_page, tmp_path):
    app = live_server.app
    with app.app_context():
        bxzy = db.session.scalars(select(User).where(User.username == "bxzy")).one()
        project = task_services.create_project(
            bxzy,
            name="诉讼服务提升",
            owner_unit=bxzy.unit,
            start=local_today() - timedelta(days=30),
            end=local_today() + timedelta(days=300),
            now=utcnow(),
        )
        db.session.commit()
        project_id = project.id
        db.session.remove()
    told = Told(app, TITLE)
    rec = new_page()
    page = rec.page

    # 本溪中院 imports the list: 桓仁's 联络员 is told.
    _login(rec, "bxzy")
    page.goto(f"/imports/tasks?project_id={project_id}")
    sheet = tmp_path / "本溪清单.xlsx"
    sheet.write_bytes(_sheet())
    page.locator("#file").set_input_files(str(sheet))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("main")).to_contain_text("全部通过检查")
    page.get_by_test_id("commit-import").click()
    _flash(page, "导入完成：新增并交办 1 项")
    told.step({"hrfy": "assigned"}, "import")

    # 桓仁 splits it to 华来: 华来's 庭长 is told; the split is in the 办理记录.
    _from_notifications(rec, "hrfy", TITLE)
    parent_url = page.url
    _in_history(page, "交办", 1)
    page.get_by_label("华来人民法庭", exact=True).check()
    page.get_by_role("button", name="分解", exact=True).click()
    _flash(page, "已分解到下级单位。")
    _in_history(page, "分解到下级单位", 1)
    expect(page.locator("ol.timeline")).to_contain_text("分解给：华来人民法庭")
    told.step({"hlft": "assigned"}, "split")

    # 华来 signs and reports 50 %: a report on the way tells nobody.
    _from_notifications(rec, "hlft", TITLE)
    child_url = page.url
    assert child_url != parent_url
    page.get_by_role("button", name="签收", exact=True).click()
    _flash(page, "已签收。")
    _report(page, "已制作导引标识样稿。", 50, submit=False)
    _in_history(page, "签收", 1)
    told.step({}, "report 50 %")
    # 100 % for review: 桓仁, who split it, reviews it and is told.
    _report(page, "导引标识已全部安装。", 100, submit=True)
    _in_history(page, "提交审核", 1)
    told.step({"hrfy": "submitted"}, "submit")

    # 桓仁 returns it: 华来 is told; the last reported 100 % stays, shown with the reason.
    _from_notifications(rec, "hrfy", TITLE)
    expect(page).to_have_url(child_url)
    _review(page, "退回", "请补充安装后的现场照片", "已退回。")
    _in_history(page, "退回", 1)
    told.step({"hlft": "returned"}, "return")
    _from_notifications(rec, "hlft", TITLE)
    expect(page.get_by_test_id("returned-progress")).to_contain_text("100%")
    expect(page.get_by_test_id("returned-progress")).to_contain_text("请补充安装后的现场照片")
    expect(page.locator("main")).not_to_contain_text("尚无进度")

    # 华来 reports again: 桓仁 is told once more.
    _report(page, "已补充现场照片说明。", 100, submit=True)
    _in_history(page, "提交审核", 2)
    told.step({"hrfy": "submitted"}, "submit again")

    # 桓仁 closes it: 华来 is told.
    _login(rec, "hrfy")
    page.goto(child_url)
    _review(page, "办结", "标识规范，予以办结", "已办结。")
    _in_history(page, "办结", 1)
    told.step({"hlft": "closed"}, "close")
    _from_notifications(rec, "hlft", TITLE)
    expect(page.locator("main .badge").filter(has_text="已办结")).to_be_visible()
    rec.assert_clean()


def test_a_finding_to_xiaohao_tells_each_next_person_once(live_server, new_page):
    app = live_server.app
    with app.app_context():
        from app.seed.demo import load_demo_visits
        from app.visits.models import Visit

        load_demo_visits(utcnow())  # among them, 本溪中院's recorded 蹲点 at 田师付
        db.session.commit()
        visit_id = db.session.scalars(select(Visit.id).where(Visit.title == "田师付法庭蹲点指导")).one()
        db.session.remove()
    told = Told(app, f"整改：{FINDING}")
    rec = new_page()
    page = rec.page

    # The leader registers the finding on his recorded visit: 田师付's 庭长 is told.
    _login(rec, "bxzy_ld")
    page.goto(f"/visits/{visit_id}")
    form = page.get_by_test_id("finding-form")
    form.get_by_label("问题所在单位").select_option(label="田师付人民法庭")
    form.get_by_label("发现的问题").fill(FINDING)
    form.get_by_label("整改时限").fill((local_today() + timedelta(days=30)).isoformat())
    form.get_by_role("button", name="登记并交办整改").click()
    _flash(page, "已登记问题，并作为整改事项交办给问题所在单位。")
    told.step({"tsft": "rectification"}, "finding")

    # 田师付 answers it: the verifier is told; the page leads back to its visit.
    _from_notifications(rec, "tsft", FINDING)
    url = page.url
    expect(page.get_by_test_id("rectification-visit")).to_contain_text("田师付法庭蹲点指导")
    page.get_by_role("button", name="签收", exact=True).click()
    _report(page, "已购置并安装录音录像设备。", 100, submit=True)
    _in_history(page, "提交审核", 1)
    told.step({"bxzy_ld": "submitted"}, "answer")

    # The verifier returns it (his form offers 销号 and 退回, nothing preselected): 田师付 is told.
    _from_notifications(rec, "bxzy_ld", FINDING)
    expect(page).to_have_url(url)
    options = page.get_by_test_id("review-form").get_by_label("审核结论").locator("option")
    expect(options).to_have_text(["请选择审核结论", "销号", "退回"])
    _review(page, "退回", "请附设备调试记录", "已退回。")
    _in_history(page, "退回", 1)
    told.step({"tsft": "returned"}, "return")

    # 田师付 answers again; the verifier 销号.
    _from_notifications(rec, "tsft", FINDING)
    _report(page, "已补充设备调试记录。", 100, submit=True)
    told.step({"bxzy_ld": "submitted"}, "answer again")
    _from_notifications(rec, "bxzy_ld", FINDING)
    _review(page, "销号", "整改到位", "已销号。")
    _in_history(page, "提交审核", 2)
    told.step({"tsft": "closed"}, "销号")
    page.goto(f"/visits/{visit_id}")
    row = page.get_by_test_id("findings").locator("tbody tr").filter(has_text=FINDING)
    expect(row.locator("td").last).to_have_text("已销号")
    rec.assert_clean()
