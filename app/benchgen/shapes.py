"""What each scale holds. Every count here is exact in the generated database, except
where a comment says "about" (they follow from random choices under the seed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    name: str
    provinces: int  # high courts; the first is 辽宁 (the demo tree grows inside it)
    intermediates: int  # per province, the demo's own included
    bases: int
    tribunals: int
    # Accounts per unit of each level, by role (the demo accounts fill their slots).
    roles: dict[str, dict[str, int]]
    items: int  # assignments of project items per province (sub-assignments included)
    reports: int  # progress reports per province (the long item's included)
    long_history: int  # reports of the one item with a long history (per province)
    visits: int
    rectifications: int  # findings, each with its rectification item (one assignment)
    checklists: dict[str, int]  # standard family → units it is applied to, per province
    notifications: int
    projects_high: int  # projects per year owned by the high court
    projects_intermediate: int  # per year per intermediate court
    years: int = 3  # projects: years × (high + intermediates × per court) + one spanning them

    def units_per_province(self) -> int:
        return 1 + self.intermediates + self.bases + self.tribunals

    def closure_per_province(self) -> int:
        return 1 + 2 * self.intermediates + 3 * self.bases + 4 * self.tribunals

    def users_per_province(self) -> int:
        per = {level: sum(r.values()) for level, r in self.roles.items()}
        return (
            per["high"]
            + per["intermediate"] * self.intermediates
            + per["base"] * self.bases
            + per["tribunal"] * self.tribunals
        )

    def projects_per_province(self) -> int:
        return self.years * (self.projects_high + self.projects_intermediate * self.intermediates) + 1


ADMINS = {"admin": 2, "secadmin": 1, "auditor": 1}

DEMO = Shape(
    name="demo",
    provinces=1,
    intermediates=4,  # 本溪 阜新 朝阳 + 1
    bases=24,  # the demo's 20 + 4
    tribunals=40,  # the demo's 34 + 6
    roles={
        "high": {**ADMINS, "reviewer": 2, "leader": 1, "assigner": 1},
        "intermediate": {"assigner": 1, "leader": 1, "staff": 1},
        "base": {"coordinator": 1, "leader": 1, "assigner": 1},
        "tribunal": {"tribunal_head": 1, "staff": 1},
    },
    items=2_000,
    reports=6_000,
    long_history=300,
    visits=60,
    rectifications=200,
    checklists={"wuhua": 20, "shifan": 6, "sannian": 4},
    notifications=3_000,
    projects_high=2,
    projects_intermediate=1,
)

PROVINCE = Shape(
    name="province",
    provinces=1,
    intermediates=15,
    bases=120,
    tribunals=350,
    roles={
        # 140 + 15 × 14 + 120 × 5 + 350 × 3 = 2,000 accounts
        "high": {**ADMINS, "reviewer": 20, "leader": 10, "assigner": 10, "staff": 86, "viewer": 10},
        "intermediate": {"assigner": 3, "leader": 3, "staff": 8},
        "base": {"coordinator": 1, "leader": 2, "assigner": 1, "staff": 1},
        "tribunal": {"tribunal_head": 1, "staff": 2},
    },
    items=150_000,
    reports=500_000,
    long_history=300,
    visits=5_000,
    rectifications=20_000,
    checklists={"wuhua": 350, "shifan": 100, "sannian": 50},
    notifications=200_000,
    projects_high=4,
    projects_intermediate=2,
)

# 32 high courts (31 provinces and the 兵团分院), each with the full court tree of a
# province (486 units) and 1/8 of a province's activity: 600,000 items in all.
NATION = Shape(
    name="nation",
    provinces=32,
    intermediates=15,
    bases=120,
    tribunals=350,
    roles={
        # 20 + 15 × 4 + 120 × 2 + 350 × 1 = 670 accounts per province, 21,440 in all
        "high": {**ADMINS, "reviewer": 5, "leader": 3, "assigner": 2, "staff": 6},
        "intermediate": {"assigner": 2, "leader": 1, "staff": 1},
        "base": {"coordinator": 1, "leader": 1},
        "tribunal": {"tribunal_head": 1},
    },
    items=18_750,
    reports=62_500,
    long_history=300,
    visits=625,
    rectifications=2_500,
    checklists={"wuhua": 44, "shifan": 12, "sannian": 6},
    notifications=25_000,
    projects_high=2,
    projects_intermediate=1,
)

SHAPES = {s.name: s for s in (DEMO, PROVINCE, NATION)}
