"""月末通报 reaches its courts (issue 12): an issued circular is read and listed by every
court it names and the units above them, hidden from the others; each addressee's people
are told once (and e-mailed as each chose); reading is recorded ("已读 n/m", who has not);
the draft is made for the month picked, every figure for that month; its wording follows
the ranks."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.background.runner import run_pending
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders import circular
from app.reminders.circular_models import CircularAddressee, CircularRead
from app.reminders.models import Circular, Delivery
from app.timeutil import TZ, utcnow
from tests import factories

NOW = datetime(2026, 10, 31, 9, 0)  # 17:00 on 31 October in Shanghai


def _close(a, on: date) -> None:
    a.status, a.closed_on = "closed", on


@pytest.fixture
def people(db, tree):
    """October: base3 closes its item on time (100%), base1 one of two (the other overdue:
    50%), base2 closes late (0%); trib1 holds an item overdue since 25 October (red list:
    a tribunal named); base2's September item is still open. trib2 is named nowhere."""
    u = factories.task_users(tree)
    p = factories.project(u.high_assigner)
    t1 = factories.task(u.high_assigner, p, "选配人民法庭庭长", deadline=date(2026, 10, 10))
    t2 = factories.task(u.high_assigner, p, "完善诉讼服务站", deadline=date(2026, 10, 20))
    t3 = factories.task(u.high_assigner, p, "法庭装修改造", deadline=date(2026, 9, 15))
    t4 = factories.task(u.high_assigner, p, "规范法庭标识标牌", deadline=date(2026, 10, 25))
    a1 = {a.unit_id: a for a in factories.assign(u.high_assigner, t1, tree.base1, tree.base2, tree.base3)}
    a2 = {a.unit_id: a for a in factories.assign(u.high_assigner, t2, tree.base1, tree.base3)}
    factories.assign(u.high_assigner, t3, tree.base2)
    factories.assign(u.high_assigner, t4, tree.trib1)
    _close(a1[tree.base1.id], date(2026, 10, 9))
    _close(a1[tree.base2.id], date(2026, 10, 15))
    _close(a1[tree.base3.id], date(2026, 10, 10))
    _close(a2[tree.base3.id], date(2026, 10, 18))
    db.session.commit()
    u.readers = [
        u.assigner,
        u.inter1_staff,
        u.inter2_assigner,
        u.base1_coord,
        u.base1_staff,
        u.base2_coord,
        u.base3_coord,
        u.trib1_head,
    ]
    u.outsiders = [u.trib2_head]  # trib2 is not named; the high court is the issuing side
    return u


def _issued(db, tree, people, now=NOW) -> Circular:
    c = circular.make_draft(tree.high, "2026-10", now)
    circular.issue_circular(people.reviewer, c, expected_version=c.version, now=now)
    db.session.commit()
    return c


def _read_count(html: str) -> str:
    found = re.search(r'data-testid="read-count">([^<]*)<', html)
    return found.group(1) if found else ""


# ---------------------------------------------------------------- who may read it


def test_addressees_are_the_named_courts(app, db, tree, people):
    """The ranked courts of both levels and the tribunal holding a red-list item; not trib2."""
    c = _issued(db, tree, people)
    named = set(
        db.session.scalars(select(CircularAddressee.unit_id).where(CircularAddressee.circular_id == c.id))
    )
    assert named == {
        tree.inter1.id,
        tree.inter2.id,
        tree.base1.id,
        tree.base2.id,
        tree.base3.id,
        tree.trib1.id,
    }
    receivers = set(db.session.scalars(select(CircularRead.user_id).where(CircularRead.circular_id == c.id)))
    assert receivers == {p.id for p in people.readers}


def test_every_addressee_and_the_units_above_read_and_list_it(app, db, client, login, tree, people):
    """Each named court's people (and the issuing court) open, list and download it."""
    c = _issued(db, tree, people)
    for user in [*people.readers, people.reviewer, people.high_assigner]:
        login(user)
        listing = client.get("/circulars")
        assert listing.status_code == 200 and c.title in listing.get_data(as_text=True), user.username
        assert client.get(f"/circulars/{c.id}").status_code == 200, user.username
        assert client.get(f"/circulars/{c.id}.docx").status_code == 200, user.username
        client.post("/logout")


def test_a_court_not_named_gets_404_and_no_listing(app, db, client, login, tree, people):
    """trib2 (named nowhere) and another province's court: 404, not listed; and the other
    province's circular is just as hidden from ours."""
    c = _issued(db, tree, people)
    other = factories.unit("外省高级人民法院", "high")
    other_inter = factories.unit("外省某市中级人民法院", "intermediate", other)
    other_reviewer = factories.user("wx_qjb", other, ["reviewer"])
    other_assigner = factories.user("wx_zb", other_inter, ["assigner"])
    theirs = circular.Circular(
        unit_id=other.id,
        period="2026-10",
        title="外省关于2026年10月的通报",
        body="正文",
        data={
            "as_of": "2026-10-31",
            "ranking": {
                "intermediate": [
                    {"rank": None, "unit_id": other_inter.id, "unit": other_inter.name, "total": 0}
                    | {"closed": 0, "on_time": 0, "overdue": 0, "rate": None}
                ],
                "base": [],
            },
            "red_list": [],
        },
        created_at=utcnow(),
    )
    db.session.add(theirs)
    db.session.flush()
    circular.issue_circular(other_reviewer, theirs, expected_version=theirs.version, now=utcnow())
    db.session.commit()

    for user, hidden in ((people.trib2_head, c), (other_assigner, c), (people.base1_coord, theirs)):
        login(user)
        page = client.get("/circulars").get_data(as_text=True)
        assert hidden.title not in page, user.username
        assert client.get(f"/circulars/{hidden.id}").status_code == 404, user.username
        assert client.get(f"/circulars/{hidden.id}.docx").status_code == 404, user.username
        client.post("/logout")
    login(other_assigner)
    assert client.get(f"/circulars/{theirs.id}").status_code == 200  # their own court reads theirs


def test_a_draft_stays_with_the_reviewers(app, db, client, login, tree, people):
    """Before issuing: a named court neither lists nor opens it (404); the issuing court's
    non-reviewers get 403; nobody is told."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    login(people.base1_coord)
    assert c.title not in client.get("/circulars").get_data(as_text=True)
    assert client.get(f"/circulars/{c.id}").status_code == 404
    client.post("/logout")
    login(people.high_assigner)
    assert client.get(f"/circulars/{c.id}").status_code == 403
    told = select(func.count()).select_from(Notification).where(Notification.subject_type == "Circular")
    assert db.session.scalar(told) == 0


def test_only_the_reviewer_edits_and_issues(app, db, client, login, tree, people):
    """An addressee cannot save or issue (404: not his to manage); the issuing court's
    assigner is refused (403); nothing changes."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    login(people.base1_coord)
    assert client.post(f"/circulars/{c.id}/issue", data={"version": c.version}).status_code == 404
    client.post("/logout")
    login(people.high_assigner)
    assert client.post(f"/circulars/{c.id}/issue", data={"version": c.version}).status_code == 403
    assert client.post(f"/circulars/{c.id}", data={"body": "改", "version": c.version}).status_code == 403
    db.session.refresh(c)
    assert c.status == "draft"


# ---------------------------------------------------------------- told once, by e-mail as chosen


def test_issuing_tells_each_addressee_once_and_nobody_else(app, db, client, login, tree, people):
    """Issued on the page: one notification per person of the named courts, none for anyone
    else; issuing again is refused and tells nobody again; e-mail as each person chose."""
    people.base1_coord.email, people.base1_coord.email_mode = "j1@court.example", "immediate"
    people.base3_coord.email, people.base3_coord.email_mode = "y1@court.example", "digest"
    people.base2_coord.email, people.base2_coord.email_mode = "j2@court.example", "off"
    people.trib2_head.email, people.trib2_head.email_mode = "xs@court.example", "immediate"
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    login(people.reviewer)
    assert client.post(f"/circulars/{c.id}/issue", data={"version": c.version}).status_code == 302
    db.session.refresh(c)
    assert client.post(f"/circulars/{c.id}/issue", data={"version": c.version}).status_code == 400

    rows = db.session.execute(
        select(Notification.recipient_id, Notification.kind, Notification.subject_id).where(
            Notification.subject_type == "Circular"
        )
    ).all()
    assert sorted(r[0] for r in rows) == sorted(p.id for p in people.readers)
    assert {(r[1], r[2]) for r in rows} == {("circular", c.id)}
    circular_notes = select(Notification.id).where(Notification.subject_type == "Circular")
    mails = dict(
        db.session.execute(
            select(Delivery.recipient_id, Delivery.mode).where(Delivery.notification_id.in_(circular_notes))
        ).all()
    )
    assert mails == {people.base1_coord.id: "immediate", people.base3_coord.id: "digest"}

    issue = db.session.scalars(
        select(JournalEntry).where(
            JournalEntry.object_type == "Circular",
            JournalEntry.object_id == c.id,
            JournalEntry.action == "circular.issue",
        )
    ).one()
    assert issue.after["recipients"] == len(people.readers) and issue.after["addressees"] == 6


# ---------------------------------------------------------------- read receipts


def test_read_count_rises_when_an_addressee_opens_it(app, db, client, login, tree, people):
    """ "已读 0/8" → a coordinator opens it → "已读 1/8" (once, however often he opens it),
    and he leaves the list of who has not read it."""
    c = _issued(db, tree, people)
    total = len(people.readers)
    login(people.reviewer)
    page = client.get(f"/circulars/{c.id}").get_data(as_text=True)
    assert _read_count(page) == f"已读 0/{total}"
    assert people.base1_coord.display_name in page.split('data-testid="unread"')[1]
    client.post("/logout")

    login(people.base1_coord)
    listing = client.get("/circulars").get_data(as_text=True)
    assert "未读" in listing
    client.get(f"/circulars/{c.id}")
    client.get(f"/circulars/{c.id}")
    assert "我已阅读" in client.get("/circulars").get_data(as_text=True)
    client.post("/logout")

    login(people.reviewer)
    page = client.get(f"/circulars/{c.id}").get_data(as_text=True)
    assert _read_count(page) == f"已读 1/{total}"
    unread = page.split('data-testid="unread"')[1]
    assert people.base1_coord.display_name not in unread and people.base3_coord.display_name in unread
    assert f"已读 1/{total}" in client.get("/circulars").get_data(as_text=True)
    reads = db.session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.action == "circular.read")
    )
    assert reads == 1


def test_the_court_above_sees_the_reading_of_its_own_courts(app, db, client, login, tree, people):
    """The intermediate court (itself named) sees the reading of the people of its subtree."""
    c = _issued(db, tree, people)
    login(people.trib1_head)
    client.get(f"/circulars/{c.id}")
    client.post("/logout")
    login(people.assigner)
    page = client.get(f"/circulars/{c.id}").get_data(as_text=True)
    below = [
        p
        for p in people.readers
        if p.unit_id in {tree.inter1.id, tree.base1.id, tree.base2.id, tree.trib1.id}
    ]
    # The assigner's own opening counts too.
    assert _read_count(page) == f"已读 2/{len(below)}"
    assert people.inter2_assigner.display_name not in page


# ---------------------------------------------------------------- the month


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 30), "2026-11"),  # the last day: that month
        (date(2026, 11, 29), "2026-10"),
        (date(2026, 12, 1), "2026-11"),
        (date(2026, 1, 15), "2025-12"),
        (date(2026, 2, 28), "2026-02"),
        (date(2028, 2, 28), "2028-01"),  # a leap year: the 29th is the last day
        (date(2028, 2, 29), "2028-02"),
    ],
)
def test_default_month(today, expected):
    """The last complete month; on the last day of a month, that month."""
    assert circular.default_period(today) == expected
    choices = circular.period_choices(today)
    assert choices[0][0] == expected and len(choices) == circular.PICKER_MONTHS


def test_a_month_not_yet_over_is_refused(app, db):
    with pytest.raises(circular.ServiceError, match="尚未结束"):
        circular.check_period("2026-12", date(2026, 11, 30))
    with pytest.raises(circular.ServiceError, match="无法识别的月份"):
        circular.check_period("2026-13", date(2026, 11, 30))
    assert circular.check_period("2026-11", date(2026, 11, 30)) == "2026-11"


@pytest.fixture
def month_items(db, tree, people):
    """Beside `people`: an October item closed late on 5 November (overdue at October's
    end, not at November's) and a November item still open (overdue since 10 November)."""
    p = factories.project(people.high_assigner, name="专项行动")
    late = factories.task(people.high_assigner, p, "十月到期十一月办结", deadline=date(2026, 10, 20))
    (a,) = factories.assign(people.high_assigner, late, tree.base3)
    _close(a, date(2026, 11, 5))
    nov = factories.task(people.high_assigner, p, "十一月到期尚未办结", deadline=date(2026, 11, 10))
    factories.assign(people.high_assigner, nov, tree.base3)
    db.session.commit()


def _draft_on(app, client, login, people, day: datetime, period: str | None):
    with time_machine.travel(day.replace(tzinfo=TZ), tick=False):
        login(people.reviewer)
        resp = client.post("/circulars/draft", data={"period": period} if period else {})
        if resp.status_code == 302 and "/jobs/" in resp.headers["Location"]:
            assert [state for _, state in run_pending(app)] == ["done"]
        return resp


def test_the_picker_offers_the_month_by_the_rule(app, db, client, login, tree, people):
    """On 30 November the dialog picks November; on the 29th, October."""
    for day, selected in ((datetime(2026, 11, 30, 10), "2026-11"), (datetime(2026, 11, 29, 10), "2026-10")):
        with time_machine.travel(day.replace(tzinfo=TZ), tick=False):
            login(people.reviewer)
            page = client.get("/circulars").get_data(as_text=True)
            assert f'<option value="{selected}" selected>' in page
            assert page.count(" selected>") == 1
            client.post("/logout")


def test_every_figure_of_the_draft_is_for_the_month_picked(app, db, client, login, tree, people, month_items):
    """October drafted on 30 November: the red list stands at 31 October (the item closed on
    5 November is on it, 11 days late; November's overdue item is not), and says so; the
    November draft made the same day lists November's item and not the one closed since."""
    _draft_on(app, client, login, people, datetime(2026, 11, 30, 10), "2026-10")
    oct_ = db.session.scalar(select(Circular).where(Circular.period == "2026-10"))
    titles = {r["title"]: r["days"] for r in oct_.data["red_list"]}
    assert titles.get("十月到期十一月办结") == 11
    assert "十一月到期尚未办结" not in titles
    assert titles.get("法庭装修改造") == 46  # 15 September → 31 October
    assert oct_.data["as_of"] == "2026-10-31"
    assert "截至2026年10月31日" in oct_.body and "截至2026年11月30日" not in oct_.body
    assert oct_.title == "关于2026年10月人民法庭建设工作情况的通报"

    client.post("/logout")
    _draft_on(app, client, login, people, datetime(2026, 11, 30, 11), None)  # the default: November
    nov = db.session.scalar(select(Circular).where(Circular.period == "2026-11"))
    titles = {r["title"]: r["days"] for r in nov.data["red_list"]}
    assert titles.get("十一月到期尚未办结") == 20 and "十月到期十一月办结" not in titles
    assert "截至2026年11月30日" in nov.body


@pytest.mark.parametrize(("period", "message"), [("2026-12", "尚未结束"), ("abc", "无法识别的月份")])
def test_a_bad_month_is_refused_with_a_message(app, db, client, login, tree, people, period, message):
    resp = _draft_on(app, client, login, people, datetime(2026, 11, 30, 10), period)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Circular)) == 0


# ---------------------------------------------------------------- the wording


def _paragraph(body: str, label: str) -> str:
    return next(line for line in body.splitlines() if label in line and "、" in line[:5])


def test_wording_follows_the_ranks(app, db, tree, people):
    """Three base courts that differ (100%, 50%, 0%): the first is named first, the last
    last, each with its rate; nobody is called "较高" — least of all the last."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    base = {r["unit"]: r for r in c.data["ranking"]["base"]}
    assert [r["unit"] for r in c.data["ranking"]["base"]] == [
        tree.base3.name,
        tree.base1.name,
        tree.base2.name,
    ]
    assert len({r["rate"] for r in base.values()}) == 3
    text = _paragraph(c.body, "基层人民法院")
    assert f"排名第一的是{tree.base3.name}（100.0%）" in text
    assert f"排名末位的是{tree.base2.name}（0.0%）" in text
    assert tree.base1.name not in text.split("排名第一")[1].split("；")[0]
    assert "较高" not in c.body
    inter = _paragraph(c.body, "中级人民法院")
    first, last = c.data["ranking"]["intermediate"][0], c.data["ranking"]["intermediate"][-1]
    assert f"排名第一的是{first['unit']}" in inter and f"排名末位的是{last['unit']}" in inter


def _row(unit: str, rank: int | None, rate: float | None, overdue: int = 0, total: int = 1) -> dict:
    return {"unit": unit, "rank": rank, "rate": rate, "overdue": overdue, "total": total}


@pytest.mark.parametrize(
    ("rows", "has", "lacks"),
    [
        (  # a tie for first: both named, said to be tied, the last named apart
            [_row("甲", 1, 1.0), _row("乙", 1, 1.0), _row("丙", 3, 0.2, 2)],
            ["排名第一的是甲（100.0%）、乙（100.0%）（并列）", "排名末位的是丙（20.0%）", "均在丙"],
            ["较高"],
        ),
        (  # all equal: nobody is last
            [_row("甲", 1, 0.5, 1), _row("乙", 1, 0.5, 1)],
            ["并列第一", "逾期事项共 2 项", "最多的是甲（1 项）、乙（1 项）"],
            ["末位"],
        ),
        (
            [_row("甲", 1, 1.0), _row("乙", None, None, 0, 0)],
            ["只有甲有可排名的到期事项"],
            ["末位", "第一的是"],
        ),
        ([_row("甲", None, None, 0, 2)], ["尚在办理期限内"], ["无到期事项"]),
        ([_row("甲", None, None, 0, 0)], ["10月无到期事项"], ["排名"]),
    ],
)
def test_wording_of_ties_and_empty_months(rows, has, lacks):
    text = circular._level_text("二", "基层人民法院", "10月", rows)
    for words in has:
        assert words in text, (words, text)
    for words in lacks:
        assert words not in text, (words, text)


# ---------------------------------------------------------------- circulars issued before


def test_the_migration_addresses_circulars_issued_before(tmp_path, backend):
    """A circular issued before 0011: after the upgrade its named courts may read it and
    their people hold an unread receipt (nobody is notified again)."""
    if backend != "sqlite":
        pytest.skip("the upgrade from 0010 is run on a SQLite file of its own")
    from flask_migrate import upgrade

    from app import create_app
    from app.discussion import watching
    from app.extensions import db as _db
    from tests.conftest import MIGRATIONS
    from tests.old_revision import models_fit

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite'}")
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0010_tally_version")
        with models_fit():  # users.auth_source (0018) and any later column
            tree = factories.build_tree()
            u = factories.task_users(tree)
            p = factories.project(u.high_assigner)
            t = factories.task(u.high_assigner, p, "法庭装修改造", deadline=date(2026, 9, 15))
            (a,) = factories.assign(u.high_assigner, t, tree.trib1)
            old = Circular(
                unit_id=tree.high.id,
                period="2026-10",
                title="旧通报",
                body="正文",
                data={
                    "ranking": {
                        "intermediate": [{"unit_id": tree.inter2.id}],
                        "base": [{"unit_id": tree.base3.id}],
                    },
                    "red_list": [{"assignment_id": a.id, "unit": tree.trib1.name}],
                },
                status="issued",
                created_at=NOW,
                issued_at=NOW,
            )
            draft = Circular(
                unit_id=tree.high.id, period="2026-09", title="稿", body="正文", data={}, created_at=NOW
            )
            _db.session.add_all([old, draft])
            # Clear the assignment's own notice: after the upgrade, any notification is the migration's.
            _db.session.execute(Notification.__table__.delete())
            # the watchers of what changed are told at commit (app.discussion, 0016): a
            # database at 0010 has no watches table yet
            _db.session.info.pop(watching.PENDING, None)
            _db.session.commit()
        upgrade(directory=str(MIGRATIONS))
        named = set(
            _db.session.scalars(
                select(CircularAddressee.unit_id).where(CircularAddressee.circular_id == old.id)
            )
        )
        assert named == {tree.inter2.id, tree.base3.id, tree.trib1.id}
        assert _db.session.scalar(select(func.count()).select_from(CircularAddressee)) == 3  # the draft: none
        reads = _db.session.execute(select(CircularRead.user_id, CircularRead.read_at)).all()
        assert sorted(reads) == sorted(
            [(u.inter2_assigner.id, None), (u.base3_coord.id, None), (u.trib1_head.id, None)]
        )
        assert _db.session.scalar(select(func.count()).select_from(Notification)) == 0
        _db.session.remove()
        _db.engine.dispose()
