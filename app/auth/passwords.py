"""The password policy (身份鉴别): length, character classes, not the username, not a
common password; and when a password has grown too old."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from app.errors import ServiceError
from app.security import settings

PASSWORD_MIN = 8
PASSWORD_MAX = 128
CLASSES_NEEDED = 3
# A username this short ("li") would forbid half the dictionary; like Windows'
# complexity rule, only usernames of three or more characters are looked for.
USERNAME_MIN_CHECKED = 3
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

CLASSES = (
    ("大写字母", re.compile(r"[A-Z]")),
    ("小写字母", re.compile(r"[a-z]")),
    ("数字", re.compile(r"[0-9]")),
    ("符号", re.compile(r"[^A-Za-z0-9]")),
)


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (lowercase); its header ends at the first empty line."""
    lines = COMMON_FILE.read_text(encoding="utf-8").split("\n")
    body = lines[lines.index("") + 1 :]
    return frozenset(line.lower() for line in body if line)


def check(password: str, username: str) -> None:
    """Raise a ServiceError naming the first rule the password breaks."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise ServiceError(f"密码至少 {PASSWORD_MIN} 位。", "password")
    if len(password) > PASSWORD_MAX:
        raise ServiceError(f"密码不能超过 {PASSWORD_MAX} 位。", "password")
    present = [label for label, pattern in CLASSES if pattern.search(password)]
    if len(present) < CLASSES_NEEDED:
        raise ServiceError(
            f"密码须包含大写字母、小写字母、数字、符号四类中的至少三类，当前只有：{'、'.join(present)}。",
            "password",
        )
    name = (username or "").strip().lower()
    if len(name) >= USERNAME_MIN_CHECKED and name in password.lower():
        raise ServiceError("密码不能包含用户名。", "password")
    if password.lower() in common_passwords():
        raise ServiceError("该密码在常见密码表中，极易被猜中，请换一个。", "password")


def expired(user: Any, *, now: datetime) -> bool:
    """The password is older than PASSWORD_EXPIRY_DAYS (0 = never)."""
    days = settings.get("PASSWORD_EXPIRY_DAYS")
    if days <= 0 or getattr(user, "auth_source", "local") == "ldap":  # the directory's own policy
        return False
    since = user.password_changed_at or user.created_at
    return since is not None and now - since > timedelta(days=days)
