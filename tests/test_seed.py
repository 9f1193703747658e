"""The Liaoning demo data: the tree people know, the accounts README lists."""

from sqlalchemy import func, select

from app.org import services
from app.org.models import Unit, User
from app.seed.demo import DEMO_PASSWORD, load_demo
from app.timeutil import utcnow

ACCOUNTS = {
    "admin": ("admin", "辽宁省高级人民法院"),
    "sysadmin": ("admin", "辽宁省高级人民法院"),
    "secadmin": ("secadmin", "辽宁省高级人民法院"),
    "auditor": ("auditor", "辽宁省高级人民法院"),
    "lnfy": ("reviewer", "辽宁省高级人民法院"),
    "bxzy": ("assigner", "本溪市中级人民法院"),
    "bxzy_ld": ("leader", "本溪市中级人民法院"),
    "fxzy": ("assigner", "阜新市中级人民法院"),
    "hrfy": ("coordinator", "桓仁满族自治县人民法院"),
    "hlft": ("tribunal_head", "华来人民法庭"),
    "fjft": ("tribunal_head", "冯家人民法庭"),
    "tsft": ("tribunal_head", "田师付人民法庭"),
    "bxfy": ("coordinator", "本溪满族自治县人民法院"),
    "psfy": ("coordinator", "本溪市平山区人民法院"),
    "xhfy": ("coordinator", "本溪市溪湖区人民法院"),
    "fmfy": ("coordinator", "阜新蒙古族自治县人民法院"),
    "zwfy": ("coordinator", "彰武县人民法院"),
    "qhfy": ("coordinator", "阜新市清河门区人民法院"),
    "wfft": ("tribunal_head", "王府人民法庭"),
}


def _counts(db):
    return (
        db.session.scalar(select(func.count()).select_from(Unit)),
        db.session.scalar(select(func.count()).select_from(User)),
    )


def test_demo_is_idempotent_through_the_cli(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    counts = _counts(db)
    second = runner.invoke(args=["seed", "demo"])
    assert "units_created=0 users_created=0" in second.output
    assert _counts(db) == counts


def test_demo_accounts_and_their_units(app, db, client):
    load_demo(utcnow())
    db.session.commit()
    for username, (role, unit_name) in ACCOUNTS.items():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        assert role in user.roles and user.unit.name == unit_name
    resp = client.post("/login", data={"username": "hlft", "password": DEMO_PASSWORD})
    assert resp.status_code == 302


def test_demo_names_and_aliases(app, db):
    load_demo(utcnow())
    db.session.commit()
    for alias, official in [
        ("本溪县人民法院", "本溪满族自治县人民法院"),
        ("本溪县法院", "本溪满族自治县人民法院"),
        ("桓仁县人民法院", "桓仁满族自治县人民法院"),
        ("阜蒙县人民法院", "阜新蒙古族自治县人民法院"),
        ("彰武县法院", "彰武县人民法院"),
        ("龙城区人民法院", "朝阳市龙城区人民法院"),
        ("华来法庭", "华来人民法庭"),
    ]:
        assert services.find_unit_by_name(alias).name == official
    tribunals = {
        "田师付人民法庭": "本溪满族自治县人民法院",
        "华来人民法庭": "桓仁满族自治县人民法院",
        "王府人民法庭": "阜新蒙古族自治县人民法院",
        "冯家人民法庭": "彰武县人民法院",
    }
    for name, parent in tribunals.items():
        unit = services.find_unit_by_name(name)
        assert unit.level == "tribunal" and unit.parent.name == parent
    levels = dict(db.session.execute(select(Unit.level, func.count()).group_by(Unit.level)).all())
    assert levels["high"] == 1 and levels["intermediate"] >= 3 and levels["tribunal"] >= 20


def test_demo_if_empty_leaves_a_used_database_alone(app, db, tree):
    result = app.test_cli_runner().invoke(args=["seed", "demo-if-empty"])
    assert "demo not loaded" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
