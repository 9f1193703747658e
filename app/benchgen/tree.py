"""The court tree of one province and its accounts: units, their names, the closure
table (rows exactly as app/org/services.create_unit writes them) and users with roles."""

from __future__ import annotations

import random
import secrets

from sqlalchemy import select

from app.benchgen.context import Clock, Province, UnitInfo, journal
from app.benchgen.names import (
    FEATURES,
    LIAONING_CITIES,
    PROVINCES,
    RAILWAY_COURT,
    Namer,
    base_name,
    intermediate_name,
    person,
    tribunal_name,
)
from app.benchgen.shapes import Shape
from app.benchgen.writer import BulkWriter
from app.extensions import db
from app.org.models import Unit, UnitName, User, UserRole


def taken_names() -> set[str]:
    return set(db.session.scalars(select(UnitName.name)))


def load_existing(p: Province) -> None:
    """The demo tree and its accounts, already loaded through the services."""
    for uid, name, level, parent in db.session.execute(
        select(Unit.id, Unit.name, Unit.level, Unit.parent_id).order_by(Unit.id)
    ):
        p.add_unit(UnitInfo(uid, name, level, parent))
        p.demo_units[name] = uid
    for uid, unit_id, role in db.session.execute(
        select(User.id, User.unit_id, UserRole.role)
        .join(UserRole, UserRole.user_id == User.id)
        .order_by(User.id)
    ):
        p.people.setdefault(unit_id, {}).setdefault(role, []).append(uid)


def _add_unit(
    w: BulkWriter,
    p: Province,
    clock: Clock,
    names: tuple[str, list[str]],
    level: str,
    parent: int | None,
    kind: str | None = None,
    feature: str | None = None,
) -> int:
    official, aliases = names
    uid = w.new_id("units")
    at = clock.origin
    w.add(
        "units",
        {
            "id": uid,
            "name": official,
            "level": level,
            "tribunal_kind": kind,
            "feature_label": feature,
            "parent_id": parent,
            "sort_order": 0,
            "is_active": True,
            "email_muted": False,
            "version": 1,
            "created_at": at,
            "updated_at": at,
        },
    )
    for name, name_kind in [(official, "official"), *[(a, "alias") for a in aliases]]:
        w.add("unit_names", {"id": w.new_id("unit_names"), "unit_id": uid, "name": name, "kind": name_kind})
    p.add_unit(UnitInfo(uid, official, level, parent))
    w.add("unit_closure", {"ancestor_id": uid, "descendant_id": uid, "depth": 0})
    for depth, ancestor in enumerate(p.ancestors(uid), start=1):
        w.add("unit_closure", {"ancestor_id": ancestor, "descendant_id": uid, "depth": depth})
    after = {
        "name": official,
        "level": level,
        "tribunal_kind": kind,
        "feature_label": feature,
        "parent_id": parent,
        "is_active": True,
        "aliases": aliases,
    }
    journal(w, at, None, "unit.create", "Unit", uid, uid, None, after)
    return uid


def _spread(rng: random.Random, count: int, bins: list[int], *, even: bool) -> dict[int, int]:
    """How many of `count` go into each bin: evenly (± 1), or at random."""
    out = dict.fromkeys(bins, 0)
    if not bins:
        return out
    if even:
        for b in bins:
            out[b] = count // len(bins)
        for b in rng.sample(bins, count % len(bins)):
            out[b] += 1
    else:
        for b in rng.choices(bins, k=count):
            out[b] += 1
    return out


def build_units(
    w: BulkWriter, p: Province, shape: Shape, clock: Clock, rng: random.Random, namer: Namer
) -> None:
    """Grow the province to the shape: the demo tree (辽宁) or a new high court at the top,
    then intermediate courts, base courts and tribunals."""
    full, short = PROVINCES[p.index]
    if not p.high:
        official = full if "高级人民法院" in full else f"{full}高级人民法院"
        _add_unit(w, p, clock, (official, [f"{short}高院"]), "high", None)
    cities: dict[int, str] = {}
    new_intermediates = []
    for i in range(shape.intermediates - len(p.intermediates)):
        if p.index == 0 and i < len(LIAONING_CITIES):
            city = LIAONING_CITIES[i]
            uid = _add_unit(
                w, p, clock, namer.unit(lambda _, c=city: intermediate_name(c)), "intermediate", p.high
            )
        elif p.index == 0 and i == len(LIAONING_CITIES):
            city = ""  # 沈阳铁路运输中级人民法院: its courts are county-style names
            uid = _add_unit(w, p, clock, namer.unit(lambda _: RAILWAY_COURT), "intermediate", p.high)
        else:
            made = namer.unit(intermediate_name)
            city = made[0].removesuffix("市中级人民法院")
            uid = _add_unit(w, p, clock, made, "intermediate", p.high)
        cities[uid] = city
        new_intermediates.append(uid)
    homes = new_intermediates or list(p.intermediates)
    new_bases = []
    for home, n in _spread(rng, shape.bases - len(p.bases), homes, even=True).items():
        city = cities.get(home) or p.units[home].name.removesuffix("市中级人民法院")
        for _ in range(n):
            kind = rng.choices([0, 1, 2], [35, 50, 15])[0] if city else rng.choice([1, 2])
            made = namer.unit(lambda place, c=city, k=kind: base_name(c, place, k))
            new_bases.append(_add_unit(w, p, clock, made, "base", home))
    homes = new_bases or list(p.bases)
    for home, n in _spread(rng, shape.tribunals - len(p.tribunals), homes, even=False).items():
        for _ in range(n):
            kind = rng.choices(["regular", "center", "special"], [75, 15, 10])[0]
            feature = rng.choice(FEATURES) if kind == "special" else None
            _add_unit(w, p, clock, namer.unit(tribunal_name), "tribunal", home, kind, feature)


def build_users(
    w: BulkWriter, p: Province, shape: Shape, clock: Clock, rng: random.Random, password_hash: str
) -> None:
    """Fill each unit's role slots; the demo accounts already hold theirs."""
    seq = 0
    for uid in sorted(p.units):
        unit = p.units[uid]
        for role, count in shape.roles[unit.level].items():
            have = p.people.setdefault(uid, {}).setdefault(role, [])
            for _ in range(count - len(have)):
                seq += 1
                user_id = w.new_id("users")
                username = f"u{p.index:02d}_{seq:05d}"
                display = person(rng)
                w.add(
                    "users",
                    {
                        "id": user_id,
                        "username": username,
                        "display_name": display,
                        "unit_id": uid,
                        "email": None,
                        "phone": None,
                        "password_hash": password_hash,
                        "active": True,
                        "session_token": secrets.token_hex(16),  # a secret: never derived from the seed
                        "must_change_password": False,
                        "email_mode": "digest",
                        "last_login_at": None,
                        "password_changed_at": clock.now,
                        "mfa_secret": None,
                        "mfa_enabled_at": None,
                        "version": 1,
                        "created_at": clock.origin,
                        "updated_at": clock.origin,
                    },
                )
                w.add("user_roles", {"user_id": user_id, "role": role})
                snap = {
                    "username": username,
                    "display_name": display,
                    "unit_id": uid,
                    "email": None,
                    "phone": None,
                    "active": True,
                    "roles": [role],
                }
                journal(w, clock.origin, None, "user.create", "User", user_id, uid, None, snap)
                have.append(user_id)
