"""事项承办 (/assignments) starts where people work: with no filter it lists the open
items, the most urgent first, and says so; one click shows every status. Links that name
filters (dashboards, completion list, digests) keep their meaning, the export link carries
the filters shown (the default too), the API keeps its own default (every status), and
the bulk actions have a select-all (a script file: the CSP allows no inline script)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from html import unescape
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import lxml.html
import pytest
import time_machine
from openpyxl import load_workbook

from app.tasks import services
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 2, 0)


@pytest.fixture
def listed(db, tree):
    """inter1's items on 2026-07-05: two closed in June, one overdue since June, one due
    soon, two later."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)

    def item(title, deadline=None, unit=tree.base1, **kw):
        t = factories.task(u.assigner, p, title=title, deadline=deadline, now=NOW, **kw)
        (a,) = factories.assign(u.assigner, t, unit, now=NOW)
        return a

    r = SimpleNamespace(u=u, t=tree, p=p)
    r.closed = [
        item("六月办结的事项甲", date(2026, 6, 10)),
        item("六月办结的事项乙", date(2026, 6, 12), tree.base2),
    ]
    for a in r.closed:
        who = u.base1_staff if a.unit_id == tree.base1.id else u.base2_coord
        services.add_report(
            who, a, expected_version=a.version, text="完成", percent=None, files=[], submit=True, now=NOW
        )
        services.review(u.assigner, a, decision="approve", comment=None, expected_version=a.version, now=NOW)
    r.later = item("九月到期的事项", date(2026, 9, 30))
    r.december = item("年底到期的事项", date(2026, 12, 31), tree.base2)
    r.soon = item("临期的事项", date(2026, 7, 8), tree.base2)
    r.overdue = item("六月逾期的事项", date(2026, 6, 20))
    db.session.commit()
    r.open = [r.overdue, r.soon, r.later, r.december]  # the most urgent first
    return r


@pytest.fixture
def july5():
    with time_machine.travel(datetime(2026, 7, 5, 9, 0, tzinfo=SH), tick=False):
        yield


def _rows(html: str) -> list[int]:
    """The listed assignments in order (one checkbox per row)."""
    return [int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)]


def _link(html: str, testid: str) -> str:
    m = re.search(rf'<a [^>]*href="([^"]*)"[^>]*data-testid="{testid}"', html)
    assert m, testid
    return unescape(m.group(1))


def _titles_in(resp) -> set[str]:
    """Every item title in an exported sheet: the column under the header 任务名称
    (wherever the header row sits: a title row is above it)."""
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    data = resp.data
    resp.close()
    rows = list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if "任务名称" in row)
    col = rows[at].index("任务名称")
    return {row[col] for row in rows[at + 1 :] if row[col]}


def test_the_list_opens_on_the_open_items_most_urgent_first(db, listed, as_user, july5):
    """No filter: the four open items — overdue, due soon, later — and not
    the ones closed in June; the form says it is filtered and by default."""
    c = as_user(listed.u.assigner)
    html = c.get("/assignments").get_data(as_text=True)
    assert _rows(html) == [a.id for a in listed.open]
    doc = lxml.html.fromstring(html)
    (selected,) = doc.xpath('//select[@name="status"]/option[@selected]')
    assert (selected.get("value"), selected.text) == ("open", "未办结")
    note = doc.xpath('//*[@data-testid="status-filter"]')[0].text_content()
    assert "未办结" in note and "默认" in note


def test_one_click_shows_every_status(db, listed, as_user, july5):
    """The "show all" link (and the form's 全部状态, which sends status=all) lists the closed items too."""
    c = as_user(listed.u.assigner)
    html = c.get("/assignments?sort=title").get_data(as_text=True)
    everything = {a.id for a in listed.open + listed.closed}
    clear = _link(html, "clear-status")
    assert "status=all" in clear and "sort=title" in clear
    assert set(_rows(c.get(clear).get_data(as_text=True))) == everything
    form = {"q": "", "project": "", "unit": "", "status": "all", "sort": "deadline"}
    all_html = c.get("/assignments", query_string=form).get_data(as_text=True)
    assert set(_rows(all_html)) == everything
    assert 'data-testid="status-filter"' not in all_html
    (selected,) = lxml.html.fromstring(all_html).xpath('//select[@name="status"]/option[@selected]')
    assert selected.get("value") == "all"
    # an empty status, as the form sent before, is every status too
    assert set(_rows(c.get("/assignments?status=&q=").get_data(as_text=True))) == everything


def test_the_default_holds_across_pages_and_sorts(db, listed, as_user, july5):
    """Paging or sorting is not a filter: still the open items."""
    c = as_user(listed.u.assigner)
    first = _rows(c.get("/assignments?size=2").get_data(as_text=True))
    second = _rows(c.get("/assignments?size=2&page=2").get_data(as_text=True))
    assert first + second == [a.id for a in listed.open]
    assert set(_rows(c.get("/assignments?sort=-deadline").get_data(as_text=True))) == {
        a.id for a in listed.open
    }


def test_links_that_name_filters_keep_their_meaning(db, listed, as_user, july5):
    """The completion list's 总数 (unit=…), the dashboard's 事项总数 (top=1&unit=…), a
    project's 承办情况 (project=…) count closed items too; status=closed lists them."""
    c = as_user(listed.u.assigner)
    t = listed.t
    base1 = {a.id for a in listed.open + listed.closed if a.unit_id == t.base1.id}
    assert set(_rows(c.get(f"/assignments?unit={t.base1.id}").get_data(as_text=True))) == base1
    assert set(_rows(c.get(f"/assignments?top=1&unit={t.inter1.id}").get_data(as_text=True))) == {
        a.id for a in listed.open + listed.closed
    }
    assert len(_rows(c.get(f"/assignments?project={listed.p.id}").get_data(as_text=True))) == 6
    assert set(_rows(c.get("/assignments?status=closed").get_data(as_text=True))) == {
        a.id for a in listed.closed
    }
    assert _rows(c.get("/assignments?status=overdue&kind=task").get_data(as_text=True)) == [listed.overdue.id]


def test_the_export_link_carries_the_filters_shown(db, listed, as_user, july5):
    """The export of the default list is of the open items (status=open in the link);
    of every status, all six; with a unit filter, that unit's items of every status."""
    c = as_user(listed.u.assigner)
    link = _link(c.get("/assignments").get_data(as_text=True), "export-xlsx")
    assert link.startswith("/assignments.xlsx?") and "status=open" in link
    assert _titles_in(c.get(link)) == {a.task.title for a in listed.open}
    link = _link(c.get("/assignments?status=all&page=1").get_data(as_text=True), "export-xlsx")
    assert "status=all" in link and "page=" not in link
    assert _titles_in(c.get(link)) == {a.task.title for a in listed.open + listed.closed}
    link = _link(c.get(f"/assignments?unit={listed.t.base2.id}").get_data(as_text=True), "export-xlsx")
    assert f"unit={listed.t.base2.id}" in link
    assert _titles_in(c.get(link)) == {"六月办结的事项乙", "临期的事项", "年底到期的事项"}


def test_the_api_keeps_its_default(db, listed, client, july5):
    """GET /api/v1/assignments without a status: every status, as before (a contract)."""
    headers = factories.bearer(client, listed.u.assigner)
    body = client.get("/api/v1/assignments?per_page=50", headers=headers).get_json()
    assert {i["id"] for i in body["items"]} == {a.id for a in listed.open + listed.closed}


def test_select_all_is_a_script_file(db, listed, as_user, app, july5):
    """The bulk form has a select-all checkbox for the rows' checkboxes, driven by
    static/js/select_all.js (served, no inline script on the page)."""
    c = as_user(listed.u.assigner)
    html = c.get("/assignments").get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    masters = doc.xpath('//input[@type="checkbox"][@data-select-all="ids"]')
    assert masters and all(m.get("name") is None for m in masters)  # never posted as a row
    assert len(doc.xpath('//input[@type="checkbox"][@name="ids"][@form="bulk"]')) == len(listed.open)
    scripts = doc.xpath("//script")
    assert all(s.get("src") for s in scripts)  # the CSP allows no inline script
    src = next(s.get("src") for s in scripts if "select_all" in s.get("src"))
    js = c.get(src)
    assert js.status_code == 200 and "data-select-all" in js.get_data(as_text=True)
    js.close()
