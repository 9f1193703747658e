"""三员分立: the 系统管理员 keeps accounts' basic data, the 安全管理员 grants roles and
resets passwords, the 审计员 reads the audit log — none does another's job, nobody
grants themselves anything, no account holds two of the three."""

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.errors import ServiceError
from app.journal import JournalEntry
from app.org import services
from app.org.models import User
from app.timeutil import utcnow
from tests import factories


@pytest.fixture
def people(db, tree):
    p = {
        "sys": factories.user("sys", tree.inter1, ["admin"]),
        "sec": factories.user("sec", tree.inter1, ["secadmin"]),
        "aud": factories.user("aud", tree.inter1, ["auditor"]),
        "staff": factories.user("worker", tree.base1, ["staff"]),
        "far": factories.user("far", tree.base3, ["staff"]),
    }
    db.session.commit()
    return p


def _as(app, login, user):
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": factories.PASSWORD})
    return client


def _roles(client, user, roles, version=None):
    return client.post(
        f"/admin/users/{user.id}/roles",
        data={"roles": roles, "version": user.version if version is None else version},
    )


def test_secadmin_grants_roles_on_the_users_page(app, db, login, people):
    """The roles form is on the user's page; the grant is journaled and audited."""
    sec = _as(app, login, people["sec"])
    page = sec.get(f"/admin/users/{people['staff'].id}").get_data(as_text=True)
    assert 'data-testid="roles-form"' in page and "编辑基本信息" not in page and "重置密码" in page
    resp = _roles(sec, people["staff"], ["staff", "coordinator"])
    assert resp.status_code == 302
    db.session.refresh(people["staff"])
    assert people["staff"].roles == {"staff", "coordinator"}
    journal = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "user.roles")).one()
    assert journal.before == {"roles": ["staff"]} and journal.after == {"roles": ["coordinator", "staff"]}
    row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.roles")).one()
    assert row.username == "sec" and row.object_id == str(people["staff"].id)
    assert row.detail["added"] == ["coordinator"] and row.detail["admin"] is True
    # Withdrawing every role is allowed: the account then only reads its unit.
    assert _roles(sec, people["staff"], []).status_code == 302
    db.session.refresh(people["staff"])
    assert people["staff"].roles == set()


@pytest.mark.parametrize("who", ["sys", "aud", "staff"])
def test_only_the_secadmin_grants_roles(app, db, login, people, who):
    client = _as(app, login, people[who])
    assert _roles(client, people["staff"], ["reviewer"]).status_code in (403, 404)
    db.session.refresh(people["staff"])
    assert people["staff"].roles == {"staff"}


def test_nobody_changes_their_own_roles(app, db, login, people):
    sec = _as(app, login, people["sec"])
    assert _roles(sec, people["sec"], ["secadmin", "reviewer"]).status_code == 403
    assert _roles(sec, people["sec"], []).status_code == 403
    db.session.refresh(people["sec"])
    assert people["sec"].roles == {"secadmin"}
    page = sec.get(f"/admin/users/{people['sec'].id}").get_data(as_text=True)
    assert "不能修改自己的角色" in page and 'data-testid="roles-form"' not in page
    with pytest.raises(ServiceError, match="不能修改自己的角色"):
        services.set_user_roles(
            people["sec"],
            people["sec"],
            ["secadmin", "auditor"],
            expected_version=people["sec"].version,
            now=utcnow(),
        )


@pytest.mark.parametrize(
    "roles",
    [["admin", "secadmin"], ["secadmin", "auditor"], ["admin", "auditor"], ["admin", "secadmin", "auditor"]],
)
def test_no_account_holds_two_administrator_roles(app, db, login, people, roles):
    sec = _as(app, login, people["sec"])
    resp = _roles(sec, people["staff"], roles)
    assert resp.status_code == 400
    assert "三员分立" in resp.get_data(as_text=True)
    db.session.refresh(people["staff"])
    assert people["staff"].roles == {"staff"}
    with pytest.raises(ServiceError, match="只能持有其中一个角色"):
        services.create_user(
            None,
            username="two_hats",
            display_name="两顶帽子",
            unit=people["staff"].unit,
            roles=roles,
            password="Init2026x",
            now=utcnow(),
        )


def test_one_administrator_role_with_business_roles_is_allowed(app, db, login, people):
    sec = _as(app, login, people["sec"])
    assert _roles(sec, people["staff"], ["admin", "assigner"]).status_code == 302
    db.session.refresh(people["staff"])
    assert people["staff"].roles == {"admin", "assigner"}


def test_the_roles_form_refuses_unknown_roles_and_stale_versions(app, db, login, people):
    sec = _as(app, login, people["sec"])
    assert _roles(sec, people["staff"], ["superuser"]).status_code == 400
    assert _roles(sec, people["staff"], ["reviewer"], version=people["staff"].version + 7).status_code == 409
    db.session.refresh(people["staff"])
    assert people["staff"].roles == {"staff"}


def test_no_new_role_for_a_deactivated_account(app, db, login, people):
    services.set_user_active(
        people["sys"], people["staff"], False, expected_version=people["staff"].version, now=utcnow()
    )
    db.session.commit()
    sec = _as(app, login, people["sec"])
    resp = _roles(sec, people["staff"], ["staff", "reviewer"])
    assert resp.status_code == 400 and "已停用" in resp.get_data(as_text=True)


def test_a_person_opening_an_account_cannot_give_it_roles(app, db, people):
    """Only the system itself (demo, CLI, set-up: actor None) creates with roles."""
    with pytest.raises(ServiceError, match="安全管理员"):
        services.create_user(
            people["sys"],
            username="newbie",
            display_name="新人",
            unit=people["staff"].unit,
            roles=["reviewer"],
            password="Init2026x",
            now=utcnow(),
        )


def test_sysadmin_keeps_basic_data_and_nothing_of_the_secadmin(app, db, login, people):
    sysadmin = _as(app, login, people["sys"])
    page = sysadmin.get(f"/admin/users/{people['staff'].id}").get_data(as_text=True)
    assert "编辑基本信息" in page and "停用账号" in page
    assert "重置密码" not in page and 'data-testid="roles-form"' not in page
    assert sysadmin.get(f"/admin/users/{people['staff'].id}/reset-password").status_code == 403
    resp = sysadmin.post(f"/admin/users/{people['staff'].id}/reset-password", data={"password": "Temp#2026x"})
    assert resp.status_code == 403
    assert sysadmin.get("/admin/users/new").status_code == 200
    assert sysadmin.get("/audit").status_code == 403


@pytest.mark.parametrize("guarded", ["sec", "aud"])
def test_sysadmin_cannot_switch_off_or_move_the_other_administrators(app, db, login, people, guarded):
    """Else the 系统管理员 could silence the 审计员: the 安全管理员 withdraws the role first."""
    target = people[guarded]
    sysadmin = _as(app, login, people["sys"])
    assert (
        sysadmin.post(f"/admin/users/{target.id}/deactivate", data={"version": target.version}).status_code
        == 403
    )
    assert sysadmin.get(f"/admin/users/{target.id}/edit").status_code == 403
    db.session.refresh(target)
    assert target.active
    sec = _as(app, login, people["sec"])
    if guarded == "aud":
        assert _roles(sec, target, []).status_code == 302
        db.session.refresh(target)
        resp = sysadmin.post(f"/admin/users/{target.id}/deactivate", data={"version": target.version})
        assert resp.status_code == 302


def test_secadmin_resets_passwords_but_opens_and_edits_no_account(app, db, login, people):
    sec = _as(app, login, people["sec"])
    assert sec.get("/admin/users").status_code == 200
    assert sec.get("/admin/users/new").status_code == 403
    assert sec.get(f"/admin/users/{people['staff'].id}/edit").status_code == 403
    assert (
        sec.post(
            f"/admin/users/{people['staff'].id}/deactivate", data={"version": people["staff"].version}
        ).status_code
        == 403
    )
    assert sec.get("/admin/units").status_code == 403
    assert sec.get("/audit").status_code == 403
    assert sec.get(f"/admin/users/{people['far'].id}").status_code == 404  # another court's account
    resp = sec.post(f"/admin/users/{people['staff'].id}/reset-password", data={"password": "Temp#2026x"})
    assert resp.status_code == 302
    db.session.refresh(people["staff"])
    assert people["staff"].must_change_password


def test_auditor_reads_the_audit_log_and_nothing_else(app, db, login, people):
    aud = _as(app, login, people["aud"])
    assert aud.get("/audit").status_code == 200
    for path in (
        "/admin/users",
        "/admin/units",
        "/admin/users/new",
        f"/admin/users/{people['staff'].id}",
        "/admin/import",
        "/admin/displays",
        "/admin/reminders/rules",
        "/admin/categories",
    ):
        assert aud.get(path).status_code == 403, path
    assert _roles(aud, people["staff"], ["auditor"]).status_code == 403


def test_the_demo_has_one_account_per_administrator(app, db, client):
    from app.seed.demo import DEMO_PASSWORD, load_demo

    load_demo(utcnow())
    db.session.commit()
    pages = {
        "sysadmin": "/admin/units",
        "secadmin": "/admin/users",
        "auditor": "/audit",
        "admin": "/admin/units",
    }
    for username, page in pages.items():
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
        assert c.get(page).status_code == 200, username
    roles = {u.username: u.roles for u in db.session.scalars(select(User).where(User.username.in_(pages)))}
    assert roles == {
        "sysadmin": {"admin"},
        "admin": {"admin"},
        "secadmin": {"secadmin"},
        "auditor": {"auditor"},
    }
