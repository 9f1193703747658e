"""A realistic Liaoning for demos and browser tests. Idempotent: a unit or user
that already exists (by name / username) is left as it is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.org import services
from app.org.models import Unit, User

DEMO_PASSWORD = "Demo@2026"

# (official full name, [short names / aliases], level, tribunal kind, feature label, children)
T = "tribunal"


def tribunal(name: str, kind: str = "regular", feature: str | None = None, aliases=None):
    short = name.replace("人民法庭", "法庭")
    return (name, [short, *(aliases or [])], T, kind, feature, [])


def base(name: str, aliases: list[str], children: list):
    return (name, aliases, "base", None, None, children)


TREE = (
    "辽宁省高级人民法院",
    ["辽宁高院", "省法院"],
    "high",
    None,
    None,
    [
        (
            "本溪市中级人民法院",
            ["本溪中院", "本溪市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "本溪市平山区人民法院",
                    ["平山区人民法院", "平山区法院"],
                    [
                        tribunal("桥头人民法庭"),
                    ],
                ),
                base(
                    "本溪市溪湖区人民法院",
                    ["溪湖区人民法院", "溪湖区法院"],
                    [
                        tribunal("火连寨人民法庭"),
                    ],
                ),
                base("本溪市明山区人民法院", ["明山区人民法院", "明山区法院"], []),
                base(
                    "本溪市南芬区人民法院",
                    ["南芬区人民法院", "南芬区法院"],
                    [
                        tribunal("下马塘人民法庭"),
                    ],
                ),
                base(
                    "本溪满族自治县人民法院",
                    ["本溪县人民法院", "本溪县法院"],
                    [
                        tribunal("田师付人民法庭", "center"),
                        tribunal("小市人民法庭"),
                        tribunal("草河口人民法庭"),
                        tribunal("连山关人民法庭", "special", "旅游法庭"),
                    ],
                ),
                base(
                    "桓仁满族自治县人民法院",
                    ["桓仁县人民法院", "桓仁县法院"],
                    [
                        tribunal("华来人民法庭", "special", "林下参产业法庭"),
                        tribunal("二棚甸子人民法庭", "center"),
                        tribunal("普乐堡人民法庭"),
                        tribunal("沙尖子人民法庭", "special", "冰葡萄酒产业法庭"),
                    ],
                ),
            ],
        ),
        (
            "阜新市中级人民法院",
            ["阜新中院", "阜新市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "阜新市海州区人民法院",
                    ["海州区人民法院", "海州区法院"],
                    [
                        tribunal("韩家店人民法庭"),
                    ],
                ),
                base(
                    "阜新市细河区人民法院",
                    ["细河区人民法院", "细河区法院"],
                    [
                        tribunal("四合人民法庭"),
                    ],
                ),
                base("阜新市太平区人民法院", ["太平区人民法院", "太平区法院"], []),
                base("阜新市新邱区人民法院", ["新邱区人民法院", "新邱区法院"], []),
                base(
                    "阜新市清河门区人民法院",
                    ["清河门区人民法院", "清河门区法院"],
                    [
                        tribunal("河西人民法庭"),
                    ],
                ),
                base(
                    "阜新蒙古族自治县人民法院",
                    ["阜蒙县人民法院", "阜蒙县法院"],
                    [
                        tribunal("王府人民法庭", "center"),
                        tribunal("大板人民法庭", "center"),
                        tribunal("旧庙人民法庭"),
                        tribunal("于寺人民法庭"),
                    ],
                ),
                base(
                    "彰武县人民法院",
                    ["彰武县法院"],
                    [
                        tribunal("冯家人民法庭", "center"),
                        tribunal("哈尔套人民法庭"),
                        tribunal("章古台人民法庭", "special", "治沙生态法庭"),
                    ],
                ),
            ],
        ),
        (
            "朝阳市中级人民法院",
            ["朝阳中院", "朝阳市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "朝阳市双塔区人民法院",
                    ["双塔区人民法院", "双塔区法院"],
                    [
                        tribunal("桃花吐人民法庭"),
                    ],
                ),
                base(
                    "朝阳市龙城区人民法院",
                    ["龙城区人民法院", "龙城区法院"],
                    [
                        tribunal("七道泉子人民法庭"),
                        tribunal("大平房人民法庭"),
                    ],
                ),
                base(
                    "北票市人民法院",
                    ["北票市法院"],
                    [
                        tribunal("台吉人民法庭", "center"),
                        tribunal("泉巨永人民法庭"),
                    ],
                ),
                base(
                    "凌源市人民法院",
                    ["凌源市法院"],
                    [
                        tribunal("宋杖子人民法庭"),
                        tribunal("刀尔登人民法庭"),
                    ],
                ),
                base(
                    "朝阳县人民法院",
                    ["朝阳县法院"],
                    [
                        tribunal("羊山人民法庭"),
                        tribunal("木头城子人民法庭"),
                    ],
                ),
                base(
                    "建平县人民法院",
                    ["建平县法院"],
                    [
                        tribunal("叶柏寿人民法庭", "center"),
                        tribunal("朱碌科人民法庭"),
                    ],
                ),
                base(
                    "喀喇沁左翼蒙古族自治县人民法院",
                    ["喀左县人民法院", "喀左县法院"],
                    [
                        tribunal("公营子人民法庭"),
                        tribunal("南公营子人民法庭"),
                    ],
                ),
            ],
        ),
    ],
)

# username, display name, unit, roles, email
USERS = [
    ("admin", "系统管理员", "辽宁省高级人民法院", ["admin"], None),
    ("lnfy", "省高院强基办", "辽宁省高级人民法院", ["reviewer"], "lnfy@court.example.cn"),
    ("bxzy", "本溪中院工作专班", "本溪市中级人民法院", ["assigner"], "bxzy@court.example.cn"),
    ("bxzy_ld", "本溪中院院领导", "本溪市中级人民法院", ["leader"], None),
    ("fxzy", "阜新中院工作专班", "阜新市中级人民法院", ["assigner"], None),
    ("hrfy", "桓仁县法院联络员", "桓仁满族自治县人民法院", ["coordinator"], None),
    ("hlft", "华来法庭庭长", "华来人民法庭", ["tribunal_head"], None),
    ("fjft", "冯家法庭庭长", "冯家人民法庭", ["tribunal_head"], None),
]


def load_demo(now: datetime) -> dict[str, int]:
    """Create what is missing of the demo tree and accounts; return counts created."""
    created = {"units": 0, "users": 0}

    def walk(node, parent: Unit | None) -> None:
        name, aliases, level, kind, feature, children = node
        unit = db.session.scalar(select(Unit).where(Unit.name == name))
        if unit is None:
            unit = services.create_unit(
                None,
                name=name,
                level=level,
                parent=parent,
                tribunal_kind=kind,
                feature_label=feature,
                aliases=aliases,
                now=now,
            )
            created["units"] += 1
        for child in children:
            walk(child, unit)

    walk(TREE, None)
    for username, display, unit_name, roles, email in USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        services.create_user(
            None,
            username=username,
            display_name=display,
            unit=unit,
            roles=roles,
            password=DEMO_PASSWORD,
            email=email,
            now=now,
        )
        created["users"] += 1
    return created
