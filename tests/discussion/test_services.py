"""Comments, @mentions and watchers through the services (both backends)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.discussion import services
from app.discussion.models import Comment
from app.errors import Conflict, ServiceError
from app.extensions import db
from app.journal import JournalEntry, history
from app.notifications import Notification
from app.validation import Forbidden
from app.visits import services as visit_services
from tests.discussion.conftest import NOW
from tests.visits.test_views import _done


def _notes(user, kind=None):
    stmt = select(Notification).where(Notification.recipient_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def _comments() -> int:
    return db.session.scalar(select(func.count(Comment.id)))


def test_post_edit_withdraw_are_journaled_with_the_text_before(w):
    """Posted, edited within 15 minutes, withdrawn: the row stays, the journal keeps who,
    when, and the text before each change."""
    staff = w.u.base1_staff
    c = services.post_comment(staff, w.a, body="  已联系施工单位，下周进场。 ", now=NOW)
    db.session.commit()
    assert c.body == "已联系施工单位，下周进场。" and c.author_id == staff.id
    services.edit_comment(
        staff,
        c,
        w.a,
        body="已联系施工单位，3月9日进场。",
        expected_version=c.version,
        now=NOW + timedelta(minutes=14),
    )
    db.session.commit()
    services.withdraw_comment(staff, c, w.a, expected_version=c.version, now=NOW + timedelta(hours=1))
    db.session.commit()
    assert db.session.get(Comment, c.id).withdrawn_at == NOW + timedelta(hours=1)
    create, edit, withdraw = history("Comment", c.id)
    assert (create.action, create.actor_id, create.after["body"]) == (
        "comment.create",
        staff.id,
        c.body.replace("3月9日", "下周"),
    )
    assert (
        edit.before == {"body": "已联系施工单位，下周进场。"}
        and edit.after["body"] == "已联系施工单位，3月9日进场。"
    )
    assert edit.at == NOW + timedelta(minutes=14)
    assert withdraw.before == {"body": "已联系施工单位，3月9日进场。"} and withdraw.actor_id == staff.id
    with pytest.raises(ServiceError, match="已撤回"):
        services.edit_comment(
            staff, c, w.a, body="再改", expected_version=c.version, now=NOW + timedelta(hours=1)
        )


def test_fifteen_minutes_then_no_more_edits(w):
    """At 15 minutes the author may still edit; a second later: the clear refusal."""
    staff = w.u.base1_staff
    c = services.post_comment(staff, w.a, body="初稿", now=NOW)
    db.session.commit()
    services.edit_comment(
        staff, c, w.a, body="第二稿", expected_version=c.version, now=NOW + timedelta(minutes=15)
    )
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.edit_comment(
            staff,
            c,
            w.a,
            body="第三稿",
            expected_version=c.version,
            now=NOW + timedelta(minutes=15, seconds=1),
        )
    assert refused.value.message == "发布超过15分钟，不能再修改。"
    db.session.rollback()
    assert db.session.get(Comment, c.id).body == "第二稿"


def test_only_the_author_edits_and_a_stale_version_conflicts(w):
    """Another person may not edit; the author's edit from a stale page is a conflict."""
    c = services.post_comment(w.u.base1_staff, w.a, body="原文", now=NOW)
    db.session.commit()
    with pytest.raises(Forbidden):
        services.edit_comment(w.u.base1_coord, c, w.a, body="改", expected_version=c.version, now=NOW)
    old = c.version
    services.edit_comment(w.u.base1_staff, c, w.a, body="第一次修改", expected_version=old, now=NOW)
    db.session.commit()
    with pytest.raises(Conflict):
        services.edit_comment(w.u.base1_staff, c, w.a, body="第二个窗口的修改", expected_version=old, now=NOW)
    with pytest.raises(Conflict):
        services.withdraw_comment(w.u.base1_staff, c, w.a, expected_version=None, now=NOW)


def test_read_only_accounts_may_not_comment(w):
    """只读用户 sees the item but may not comment (the policy's rule)."""
    with pytest.raises(Forbidden):
        services.post_comment(w.u.viewer, w.a, body="我只能看", now=NOW)
    assert _comments() == 0


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "请填写评论内容。"),
        ("   \n ", "请填写评论内容。"),
        ("x" * 100_000, "不能超过 2000 个字"),
        ("有\x00空字符", "控制字符"),
        ("响铃\x07", "控制字符"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_saved(w, body, message):
    with pytest.raises(ServiceError, match=message):
        services.post_comment(w.u.base1_staff, w.a, body=body, now=NOW)
    db.session.rollback()
    assert _comments() == 0


def test_exactly_2000_characters_and_tabs_newlines_pass(w):
    c = services.post_comment(w.u.base1_staff, w.a, body="字" * 1999 + "\n", now=NOW)
    assert len(c.body) == 1999
    c2 = services.post_comment(w.u.base1_staff, w.a, body="一\t二\n三" + "字" * 1995, now=NOW)
    assert len(c2.body) == 2000


def test_mention_of_someone_who_cannot_see_is_refused_and_nothing_saved(w):
    """base2's coordinator cannot see base1's item: inter1's assigner, who sees base2's
    people, is refused with his name — no comment, no notification for anybody."""
    with pytest.raises(ServiceError) as refused:
        services.post_comment(w.u.assigner, w.a, body="请 @j1_llr 和 @j2_llr 看一下", now=NOW)
    assert refused.value.message == "「甲二区联络员」无权查看此事项，不能@提及。"
    db.session.rollback()
    assert _comments() == 0 and _notes(w.u.base1_coord, "mention") == [] and _notes(w.u.base2_coord) == []
    # picked from the list by id: the same rule
    with pytest.raises(ServiceError, match="「甲二区联络员」无权查看此事项"):
        services.post_comment(w.u.assigner, w.a, body="请看", mention_ids=[w.u.base2_coord.id], now=NOW)


@pytest.mark.parametrize("how", ["name", "id", "both"])
def test_a_mention_outside_the_posters_scope_is_counted_never_named(w, how):
    """base1's staff may not see base2's people: @j2_llr (by name, by id, or both — one
    person) is refused like a name that matches nobody, and the message names nobody."""
    body = "请 @j2_llr 看一下" if how != "id" else "请看"
    ids = [w.u.base2_coord.id] if how != "name" else []
    with pytest.raises(ServiceError) as refused:
        services.post_comment(w.u.base1_staff, w.a, body=body, mention_ids=ids, now=NOW)
    assert refused.value.message == "有 1 位被提及的人员不存在或无权查看此事项，不能@提及。"
    db.session.rollback()
    assert _comments() == 0 and _notes(w.u.base2_coord) == []
    # a name or an id that matches nobody reads the same
    for body, ids in (("请 @nobody_here 看", []), ("请看", [2**62])):
        with pytest.raises(ServiceError) as unknown:
            services.post_comment(w.u.base1_staff, w.a, body=body, mention_ids=ids, now=NOW)
        assert unknown.value.message == refused.value.message
    # someone above who sees the item (the assigner) may be mentioned by anyone on it
    services.post_comment(w.u.base1_staff, w.a, body="@jz_zb 请看", now=NOW)
    db.session.commit()
    assert len(_notes(w.u.assigner, "mention")) == 1


def test_a_mention_notifies_once_and_an_edit_tells_only_the_new_ones(w):
    """@j1_llr is told once (not again when the comment is edited); @jz_zb, added by the
    edit, is told then; the author never tells himself; an e-mail address is no mention."""
    staff, coord, assigner = w.u.base1_staff, w.u.base1_coord, w.u.assigner
    c = services.post_comment(staff, w.a, body="@j1_llr 请审一下照片 @j1_gj mail@j1_llr", now=NOW)
    db.session.commit()
    (note,) = _notes(coord, "mention")
    assert "甲一区干警在「法庭标准化建设」的讨论中提到了您" in note.message and note.subject_id == w.a.id
    assert _notes(staff, "mention") == []
    services.edit_comment(
        staff,
        c,
        w.a,
        body="@j1_llr 请审一下照片，@jz_zb 也请看看",
        expected_version=c.version,
        now=NOW + timedelta(minutes=5),
    )
    db.session.commit()
    assert len(_notes(coord, "mention")) == 1
    assert len(_notes(assigner, "mention")) == 1
    # picked by id from the list counts as a mention too
    services.post_comment(staff, w.a, body="请看", mention_ids=[w.u.reviewer.id], now=NOW)
    db.session.commit()
    assert len(_notes(w.u.reviewer, "mention")) == 1


def _watch(user, subject):
    services.set_watching(user, subject, True, now=NOW)
    db.session.commit()


def _watch_notes(user):
    return [n.message for n in _notes(user, "watch")]


def _report(w, a, who, text, minute, *, submit):
    w.services.add_report(
        who,
        a,
        text=text,
        percent=100 if submit else 50,
        files=[],
        submit=submit,
        expected_version=a.version,
        now=NOW + timedelta(minutes=minute),
    )
    db.session.commit()


def _review(w, a, decision, comment, minute, who=None):
    w.services.review(
        who or w.u.assigner,
        a,
        decision=decision,
        comment=comment,
        expected_version=a.version,
        now=NOW + timedelta(minutes=minute),
    )
    db.session.commit()


def test_watchers_hear_of_each_kind_of_change_but_not_their_own(w):
    """The base1 coordinator watches the item, inter1's staff watches it too: a comment, a
    report, a step, an extension request and its decision, a return, a close — each one
    notification (a change journaled in several rows is one), never for one's own."""
    from app.tasks.models import ExtensionRequest

    s, u, a = w.services, w.u, w.a
    _watch(u.base1_coord, a)
    _watch(u.inter1_staff, a)
    services.post_comment(u.base1_staff, a, body="开始整理材料", now=NOW)
    db.session.commit()
    _report(w, a, u.base1_staff, "完成一半", 1, submit=False)
    s.add_step(
        u.base1_coord,
        a,
        kind="check",
        title="场地验收",
        due=None,
        expected_version=a.version,
        now=NOW + timedelta(minutes=2),
    )
    db.session.commit()
    s.request_extension(
        u.base1_staff,
        a,
        new_deadline=date(2026, 7, 31),
        reason="材料未到",
        expected_version=a.version,
        now=NOW + timedelta(minutes=3),
    )
    db.session.commit()
    req = db.session.scalar(select(ExtensionRequest).where(ExtensionRequest.assignment_id == a.id))
    s.decide_extension(
        u.assigner,
        req,
        grant=True,
        comment="同意",
        expected_version=a.version,
        now=NOW + timedelta(minutes=4),
    )
    db.session.commit()
    _report(w, a, u.base1_staff, "全部完成", 5, submit=True)
    _review(w, a, "return", "照片不清楚", 6)
    _report(w, a, u.base1_staff, "补充照片", 7, submit=True)
    _review(w, a, "approve", None, 8)
    staff_view = _watch_notes(u.inter1_staff)
    assert len(staff_view) == 9, staff_view  # every change, one each
    assert [m.split("」：", 1)[1] for m in staff_view] == [
        "甲一区干警发表了评论。",
        "甲一区干警反馈了进度。",
        "甲一区联络员更新了里程碑/检查项。",
        "甲一区干警申请延期。",
        "甲市中院专班调整了完成时限、同意延期。",
        "甲一区干警提交审核、反馈了进度。",
        "甲市中院专班退回。",
        "甲一区干警提交审核、反馈了进度。",
        "甲市中院专班办结。",
    ]
    # base1's coordinator works on the item: the hand-offs (延期, 退回, 办结) tell him, the
    # watch tells him the rest — each change of somebody else's once, his own step never.
    moments = [n.created_at for n in _notes(u.base1_coord) if n.subject_id == a.id and n.created_at > NOW]
    # (the comment at NOW is left out here: the item's own hand-off is at NOW too)
    assert sorted(moments) == [NOW + timedelta(minutes=m) for m in (1, 3, 4, 5, 6, 7, 8)], moments
    assert "甲一区干警发表了评论" in _watch_notes(u.base1_coord)[0]


def test_a_watcher_told_by_the_hand_off_is_not_told_twice(w):
    """The assigner watches the item; base1 submits it for review: the hand-off tells him
    (提交审核), the watch does not tell him again. A return: base1's coordinator, watching,
    gets the 退回 hand-off only."""
    u, a = w.u, w.a
    _watch(u.assigner, a)
    _watch(u.base1_coord, a)
    _report(w, a, u.base1_staff, "完成", 0, submit=True)
    about_a = [n for n in _notes(u.assigner) if n.subject_id == a.id and n.created_at == NOW]
    assert len(about_a) == 1 and about_a[0].kind != "watch"
    _review(w, a, "return", "重做", 1)
    about_return = [n for n in _notes(u.base1_coord) if n.created_at == NOW + timedelta(minutes=1)]
    assert len(about_return) == 1 and about_return[0].kind != "watch"


def test_a_mentioned_watcher_is_told_once(w):
    _watch(w.u.base1_coord, w.a)
    services.post_comment(w.u.base1_staff, w.a, body="@j1_llr 请看", now=NOW)
    db.session.commit()
    assert [n.kind for n in _notes(w.u.base1_coord) if n.kind in ("mention", "watch")] == ["mention"]


def test_no_notification_after_losing_scope_or_when_rolled_back(w):
    """A watcher moved to a court beside base1 hears nothing more; a change rolled back
    tells nobody."""
    from app.org import services as org_services

    u = w.u
    _watch(u.base1_coord, w.a)
    services.post_comment(u.base1_staff, w.a, body="这条会回滚", now=NOW)
    db.session.rollback()
    assert _watch_notes(u.base1_coord) == []
    coord = db.session.get(type(u.base1_coord), u.base1_coord.id)
    org_services.update_user(
        None,
        coord,
        display_name=coord.display_name,
        unit=w.t.base2,
        email=None,
        phone=None,
        expected_version=coord.version,
        now=NOW,
    )
    db.session.commit()
    services.post_comment(u.base1_staff, w.a, body="调走之后", now=NOW + timedelta(minutes=1))
    db.session.commit()
    assert _watch_notes(u.base1_coord) == []


def test_visit_and_rectification_watchers(w):
    """A visit's watcher hears of its record and its new findings; a rectification's watcher
    of its answer and its 销号."""
    u = w.u
    _watch(u.assigner, w.visit)
    _watch(u.base1_coord, w.rect)
    _done(w.visit, u.leader, date(2026, 3, 1))  # 记录走访情况, as the visits' tests do
    db.session.commit()
    visit_services.add_finding(
        u.leader,
        w.visit,
        unit=w.t.trib1,
        description="档案室潮湿",
        deadline=date(2026, 5, 31),
        now=NOW + timedelta(minutes=1),
    )
    db.session.commit()
    assert [m.split("：")[1] for m in _watch_notes(u.assigner)] == [
        "甲市中院院长登记了走访情况。",
        "甲市中院院长登记了发现的问题。",
    ]
    rect = w.rect
    _report(w, rect, u.trib1_head, "已补齐标识", 2, submit=True)
    _review(w, rect, "approve", "销号", 3, who=u.leader)
    notes = _watch_notes(u.base1_coord)
    assert [m.split("」：", 1)[1] for m in notes] == ["东山庭长提交审核、反馈了进度。", "甲市中院院长销号。"]


def test_watching_twice_and_unwatching_are_harmless(w):
    _watch(w.u.base1_coord, w.a)
    _watch(w.u.base1_coord, w.a)
    services.set_watching(w.u.base1_coord, w.a, False, now=NOW)
    services.set_watching(w.u.base1_coord, w.a, False, now=NOW)
    db.session.commit()
    services.post_comment(w.u.base1_staff, w.a, body="没人关注了", now=NOW)
    db.session.commit()
    assert _watch_notes(w.u.base1_coord) == []
    actions = [
        e.action for e in db.session.scalars(select(JournalEntry).where(JournalEntry.object_type == "Watch"))
    ]
    assert actions == ["watch.add", "watch.remove"]


def test_an_edit_of_the_item_reaches_the_watchers_of_its_assignments(w):
    """The item's requirements change (task.update): the watcher of base1's assignment of it
    hears of it, by its new title."""
    t = w.task
    _watch(w.u.base1_staff, w.a)
    w.services.update_task(
        w.u.assigner,
        t,
        title="法庭标准化建设（修订）",
        requirements="增加无障碍设施",
        category=None,
        lead_leader=None,
        cooperators=[],
        priority=t.priority,
        deadline_kind=t.deadline_kind,
        deadline=t.deadline,
        recurrence=None,
        report_every=None,
        notes=None,
        expected_version=t.version,
        now=NOW + timedelta(minutes=1),
    )
    db.session.commit()
    assert _watch_notes(w.u.base1_staff)[-1] == "您关注的「法庭标准化建设（修订）」：甲市中院专班修改了事项。"
