"""The discussion on the pages: the item's, the rectification's and the visit's page show
it in a fixed number of statements; posting, editing, withdrawing and 关注 by form; bad
input gets a clear 4xx, another court's objects a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.discussion import services
from app.discussion.models import Comment, Watch
from app.extensions import db
from app.timeutil import utcnow
from tests.discussion.conftest import NOW


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def _many(w, subject, n: int, author) -> None:
    for i in range(n):
        services.post_comment(author, subject, body=f"第{i}条意见 @j1_llr", now=NOW + timedelta(minutes=i))
    db.session.commit()


# The pages' statements without BEGIN (the `count_queries` fixture leaves it out; with it,
# one more — 13, 15, 15: within issue 11's 15), the discussion's one statement among them
# (the latest comments with their authors' names and units, whether the user watches and
# how many do). The item's page was 11 for this user; a rectification's page 13 (it links
# its visit); the visit's page was 16 and is 14: its journal's actors and its findings'
# verifiers no longer load their roles (two statements), which makes room for the thread;
# then 12: the visit is loaded with its kind, organiser, targets and leaders (hostile test).
PAGES = {
    "item": (lambda w: f"/assignments/{w.a.id}", "base1_staff", 12),
    "rectification": (lambda w: f"/assignments/{w.rect.id}", "trib1_head", 14),
    "visit": (lambda w: f"/visits/{w.visit.id}", "leader", 12),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_pages_cost_the_same_statements_for_1_or_45_comments(w, as_user, count_queries, page):
    """1 comment vs 45 (one of them withdrawn, 3 people watching): the same statements, within
    15; the latest 20 shown oldest first, with "更多" to the rest."""
    path, who, budget = PAGES[page]
    subject = {"item": w.a, "rectification": w.rect, "visit": w.visit}[page]
    author = (
        w.u.leader if page == "visit" else (w.u.trib1_head if page == "rectification" else w.u.base1_staff)
    )
    c, url = as_user(getattr(w.u, who)), path(w)
    _many(w, subject, 1, author)
    with count_queries() as small:
        assert c.get(url).status_code == 200
    _many(w, subject, 44, author)
    first = db.session.scalar(select(Comment).order_by(Comment.id.desc()).limit(1))
    services.withdraw_comment(
        author, first, subject, expected_version=first.version, now=NOW + timedelta(hours=2)
    )
    for person in (w.u.assigner, w.u.reviewer, w.u.leader):
        services.set_watching(person, subject, True, now=NOW)
    db.session.commit()
    with count_queries() as large:
        html = c.get(url).get_data(as_text=True)
    assert len(large) == len(small), f"{page}: {len(small)} → {len(large)} statements"
    assert len(large) <= budget, large
    assert "讨论（45）" in html and "更多：较早的 25 条评论" in html
    assert html.count('data-testid="comment"') == 20
    assert html.index("第24条意见") < html.index("第42条意见")  # the latest 20, oldest first
    assert "第23条意见" not in html and "第43条意见" not in html  # older; withdrawn
    assert "该评论已于" in html and "撤回" in html and "3 人关注" in html


def test_post_edit_withdraw_by_form(w, as_user, db):
    """The page's form posts; @names are marked; the author edits then withdraws; the
    withdrawn text is gone from the page but the trace is there."""
    c = as_user(w.u.base1_staff)
    resp = c.post(f"/discussion/assignments/{w.a.id}/comments", data={"body": "请 @j1_llr 审核 <b>照片</b>"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/assignments/{w.a.id}#c1")
    html = c.get(f"/assignments/{w.a.id}").get_data(as_text=True)
    assert (
        '<span class="fw-semibold text-primary">@j1_llr</span>' in html and "&lt;b&gt;照片&lt;/b&gt;" in html
    )
    comment = db.session.scalar(select(Comment))
    assert c.get(f"/comments/{comment.id}/edit").status_code == 200
    resp = c.post(f"/comments/{comment.id}/edit", data={"body": "请审核照片", "version": comment.version})
    assert resp.status_code == 302
    db.session.expire_all()
    # a second window still holding version 1: the conflict page
    resp = c.post(f"/comments/{comment.id}/edit", data={"body": "另一个窗口", "version": 1})
    conflict = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "另一个窗口" in conflict
    # in Chinese: the kind, the comment's first words, the field and the journal's lines
    assert "评论“请审核照片”" in conflict and "正文" in conflict and "修改评论" in conflict
    assert not any(code in conflict for code in ("#1”", ">body<", "comment.edit", "comment.create"))
    comment = db.session.get(Comment, comment.id)
    resp = c.post(f"/comments/{comment.id}/withdraw", data={"version": comment.version})
    assert resp.status_code == 302
    html = c.get(f"/assignments/{w.a.id}").get_data(as_text=True)
    assert "请审核照片" not in html and "该评论已于" in html and "由甲一区干警撤回" in html


def test_edit_after_15_minutes_says_so(w, as_user, db):
    comment = services.post_comment(
        w.u.base1_staff, w.a, body="旧的意见", now=utcnow() - timedelta(minutes=16)
    )
    db.session.commit()
    c = as_user(w.u.base1_staff)
    resp = c.post(f"/comments/{comment.id}/edit", data={"body": "新的意见", "version": comment.version})
    assert resp.status_code == 400 and "发布超过15分钟，不能再修改。" in resp.get_data(as_text=True)
    assert "修改</a>" not in c.get(f"/assignments/{w.a.id}").get_data(as_text=True)
    # the edit page itself: the message, the comment, no form
    html = c.get(f"/comments/{comment.id}/edit").get_data(as_text=True)
    assert "发布超过15分钟，不能再修改。" in html and 'data-testid="comment-edit-form"' not in html


def test_a_withdrawn_comment_says_so_instead_of_a_bare_403(w, as_user, db):
    comment = services.post_comment(w.u.base1_staff, w.a, body="说错了", now=utcnow())
    db.session.commit()
    services.withdraw_comment(w.u.base1_staff, comment, w.a, expected_version=comment.version, now=utcnow())
    db.session.commit()
    c, v = as_user(w.u.base1_staff), comment.version
    for url, data in (("withdraw", {"version": v}), ("edit", {"body": "再改", "version": v})):
        resp = c.post(f"/comments/{comment.id}/{url}", data=data)
        assert resp.status_code == 400 and "该评论已撤回，不能再修改或撤回。" in resp.get_data(as_text=True)
    html = c.get(f"/comments/{comment.id}/edit").get_data(as_text=True)
    assert "该评论已撤回，不能再修改或撤回。" in html and 'data-testid="comment-edit-form"' not in html
    assert "说错了" not in html
    # another court's user still gets a 404 (nothing told of the comment)
    assert (
        as_user(w.u.base2_coord).post(f"/comments/{comment.id}/withdraw", data={"version": v}).status_code
        == 404
    )


def test_the_watcher_count_counts_only_who_may_still_see(w, db):
    from app.discussion import queries

    for user in (w.u.base1_coord, w.u.base1_staff):
        services.set_watching(user, w.a, True, now=NOW)
    db.session.commit()
    assert queries.panel(w.a, w.u.base1_staff).watchers == 2
    w.u.base1_coord.active = False  # switched off: told nothing any more, not counted
    db.session.commit()
    assert queries.panel(w.a, w.u.base1_staff).watchers == 1


def test_mention_who_cannot_see_is_refused_on_the_page_with_the_text_kept(w, as_user, db):
    c = as_user(w.u.assigner)
    resp = c.post(f"/discussion/assignments/{w.a.id}/comments", data={"body": "@j2_llr 请看"})
    html = resp.get_data(as_text=True)
    assert (
        resp.status_code == 400
        and "「甲二区联络员」无权查看此事项，不能@提及。" in html
        and "@j2_llr 请看</textarea>" in html
    )
    assert _count(Comment) == 0


def test_another_courts_person_is_never_named_on_the_page(w, as_user, db):
    """base1's staff mentions base2's coordinator (by id and by username), on a new comment
    and on an edit: 400, a count, not the name; nothing saved."""
    c = as_user(w.u.base1_staff)
    url = f"/discussion/assignments/{w.a.id}/comments"
    for data in ({"body": "请看", "mention": str(w.u.base2_coord.id)}, {"body": "@j2_llr 请看"}):
        resp = c.post(url, data=data)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400 and "有 1 位被提及的人员不存在或无权查看此事项" in html
        assert "甲二区联络员" not in html
    assert _count(Comment) == 0
    comment = services.post_comment(w.u.base1_staff, w.a, body="初稿", now=utcnow())
    db.session.commit()
    resp = c.post(
        f"/comments/{comment.id}/edit",
        data={"body": "改稿", "mention": str(w.u.base2_coord.id), "version": comment.version},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "甲二区联络员" not in html and "不存在或无权查看" in html
    db.session.refresh(comment)
    assert comment.body == "初稿"


def test_the_mention_picker_lists_only_people_who_may_see(w, as_user):
    html = as_user(w.u.base1_staff).get(f"/discussion/assignments/{w.a.id}").get_data(as_text=True)
    assert (
        'data-mention="j1_llr"' in html and 'data-mention="jz_zb"' in html and 'data-mention="gy_qjb"' in html
    )
    assert 'data-mention="j2_llr"' not in html and 'data-mention="y1_llr"' not in html


@pytest.mark.parametrize(
    "body, status, message",
    [
        ("x" * 100_000, 400, "不能超过 2000 个字"),
        ("有\x00空字符", 400, "空字符"),
        ("退格\x08", 400, "控制字符"),
        ("", 400, "请填写评论内容"),
    ],
)
def test_hostile_bodies(w, as_user, db, body, status, message):
    resp = as_user(w.u.base1_staff).post(f"/discussion/assignments/{w.a.id}/comments", data={"body": body})
    assert resp.status_code == status and message in resp.get_data(as_text=True)
    assert _count(Comment) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/discussion/assignments/{a}",
        "/discussion/visits/{v}",
        "/discussion/tasks/{a}",
        "/discussion/assignments/9223372036854775808",
        "/comments/9223372036854775808/edit",
    ],
)
def test_another_courts_objects_and_odd_ids_are_404(w, as_user, path):
    """base3 (乙市) sees nothing of 甲市's item or visit; a 2**63 id or an unknown kind: 404."""
    c = as_user(w.u.base3_coord)
    url = path.format(a=w.a.id, v=w.visit.id)
    assert c.get(url).status_code == 404
    if "comments" not in url:
        assert c.post(url + "/comments", data={"body": "看不见"}).status_code == 404
        assert c.post(url + "/watch", data={"watch": "1"}).status_code == 404


def test_another_courts_comment_is_404(w, as_user, db):
    comment = services.post_comment(w.u.base1_staff, w.a, body="甲市的意见", now=utcnow())
    db.session.commit()
    c = as_user(w.u.base3_coord)
    assert c.get(f"/comments/{comment.id}/edit").status_code == 404
    assert c.post(f"/comments/{comment.id}/withdraw", data={"version": 1}).status_code == 404


def test_watch_toggle_on_each_page(w, as_user, db):
    c = as_user(w.u.base1_coord)
    for kind, subject, page in (("assignments", w.a, f"/assignments/{w.a.id}"), ("visits", w.visit, None)):
        if page is None:
            c = as_user(w.u.leader)
            page = f"/visits/{w.visit.id}"
        assert ">关注</button>" in c.get(page).get_data(as_text=True)
        assert c.post(f"/discussion/{kind}/{subject.id}/watch", data={"watch": "1"}).status_code == 302
        assert ">取消关注</button>" in c.get(page).get_data(as_text=True)
    assert _count(Watch) == 2
    assert c.post(f"/discussion/visits/{w.visit.id}/watch", data={"watch": "0"}).status_code == 302
    assert _count(Watch) == 1


def test_read_only_user_sees_and_watches_but_has_no_form(w, as_user):
    c = as_user(w.u.viewer)
    html = c.get(f"/assignments/{w.a.id}").get_data(as_text=True)
    assert 'data-testid="discussion"' in html and 'data-testid="comment-form"' not in html
    assert c.post(f"/discussion/assignments/{w.a.id}/comments", data={"body": "只读"}).status_code == 403
    assert c.post(f"/discussion/assignments/{w.a.id}/watch", data={"watch": "1"}).status_code == 302


def test_a_page_far_beyond_the_end_is_empty_not_an_error(w, as_user):
    c = as_user(w.u.base1_staff)
    resp = c.get(f"/discussion/assignments/{w.a.id}?page=9223372036854775808")
    assert resp.status_code == 200 and "暂无评论" in resp.get_data(as_text=True)
