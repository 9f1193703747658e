"""Reading the audit log: the 审计员's filters, always inside his scope (app/authz.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select

from app import authz
from app.audit.models import RESULTS, AuditEntry
from app.extensions import db
from app.org.models import UnitClosure
from app.textclean import db_int
from app.timeutil import TZ

# What each action means to a reader; "x.*" selects a whole family.
ACTIONS = {
    "auth.*": "身份鉴别（全部）",
    "auth.login": "登录成功",
    "auth.login_failed": "登录失败",
    "auth.logout": "退出登录",
    "auth.timeout": "会话超时",
    "auth.password_changed": "修改或重置密码",
    "auth.mfa_enrolled": "启用双因素认证",
    "auth.mfa_disabled": "停用双因素认证",
    "auth.mfa_reset": "重置双因素认证",
    "write": "写操作",
    "access.denied": "拒绝访问",
    "export": "导出",
    "download": "下载证据材料",
    "user.roles": "授予或收回角色",
    "token.revoked": "吊销访问令牌",
    "security.*": "安全管理（全部）",
    "security.unlock": "解除登录限制",
    "security.settings": "修改安全设置",
    "security.report": "生成等保自查报告",
    "audit.*": "审计日志维护（全部）",
    "audit.verify": "校验审计日志",
    "audit.purge": "清理审计日志",
}
# The reasons the auth and token code record (short English codes in the row's detail),
# as the log shows them.
REASONS = {
    "unknown user": "用户名不存在",
    "wrong password": "密码错误",
    "inactive": "账号已停用",
    "locked": "登录已被限制",
    "bad code": "验证码错误",
    "bad second factor": "第二因素验证失败",
    "second factor missing": "未完成第二因素验证",
    "idle": "长时间未操作",
    "absolute": "登录时间超过上限",
    "logout": "退出登录",
    "password": "修改密码",
    "reset": "重置密码",
    "deactivated": "账号停用",
    "mfa_reset": "重置双因素认证",
    "owner": "本人吊销",
    "secadmin": "安全管理员吊销",
}
# What a row is about, by the class name it records.
OBJECTS = {
    "User": "用户",
    "UserSession": "登录会话",
    "ApiToken": "访问令牌",
    "Unit": "单位",
    "Task": "事项",
    "Assignment": "承办事项",
    "Project": "项目",
    "Visit": "走访",
    "Checklist": "检查清单",
    "Circular": "通报",
    "BackgroundJob": "后台任务",
    "SecuritySettings": "安全设置",
    "SavedView": "我的查询",  # issue 15
    "Comment": "评论",  # issue 15, discussion
    "Watch": "关注",
}
ACTION_MAX = 50
USER_MAX = 50


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def reason_label(reason: str) -> str:
    return REASONS.get(reason, reason)


def object_label(object_type: str) -> str:
    return OBJECTS.get(object_type, object_type)


@dataclass
class Filters:
    """The query string of /audit, checked: a bad value is dropped with a message."""

    start: date | None = None
    end: date | None = None
    user: str = ""
    unit_id: int | None = None
    action: str = ""
    result: str = ""
    errors: list[str] = field(default_factory=list)

    def args(self) -> dict[str, str]:
        """As query-string arguments (for the export link and the pager)."""
        out = {
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "user": self.user,
            "unit": str(self.unit_id or ""),
            "action": self.action,
            "result": self.result,
        }
        return {k: v for k, v in out.items() if v}


def _date(value: str, label: str, errors: list[str]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label}“{value[:20]}”不是有效日期（格式：2026-01-31），已忽略。")
        return None
    if not 2000 <= day.year <= 2099:
        errors.append(f"{label}须在 2000 年到 2099 年之间，已忽略。")
        return None
    return day


def parse_filters(args: Any) -> Filters:
    f = Filters()
    f.start = _date(args.get("start", ""), "开始日期", f.errors)
    f.end = _date(args.get("end", ""), "结束日期", f.errors)
    if f.start and f.end and f.start > f.end:
        f.errors.append("开始日期晚于结束日期，已对调。")
        f.start, f.end = f.end, f.start
    f.user = (args.get("user", "") or "").strip()[:USER_MAX]
    unit = (args.get("unit", "") or "").strip()
    if unit:
        try:
            f.unit_id = db_int(unit)
        except ValueError:
            f.errors.append("单位参数无效，已忽略。")
    action = (args.get("action", "") or "").strip()
    f.action = action[:ACTION_MAX]
    result = (args.get("result", "") or "").strip()
    if result and result not in RESULTS:
        f.errors.append("结果参数无效，已忽略。")
        result = ""
    f.result = result
    return f


def _utc_midnight(day: date) -> datetime:
    """The start of a day in Asia/Shanghai, as stored (naive UTC)."""
    return datetime.combine(day, time.min, tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)


def rows_query(user: Any, f: Filters) -> Select:
    """The rows this 审计员 may read that match the filters, newest first."""
    stmt = authz.scope(select(AuditEntry), AuditEntry, user)
    if f.start:
        stmt = stmt.where(AuditEntry.at >= _utc_midnight(f.start))
    if f.end:
        stmt = stmt.where(AuditEntry.at < _utc_midnight(f.end + timedelta(days=1)))
    if f.user:
        stmt = stmt.where(AuditEntry.username == f.user)
    if f.unit_id:
        below = select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == f.unit_id)
        stmt = stmt.where(AuditEntry.unit_id.in_(below))
    if f.action.endswith(".*"):
        prefix = f.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.action.like(prefix + "%", escape="\\"))
    elif f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.result:
        stmt = stmt.where(AuditEntry.result == f.result)
    return stmt.order_by(AuditEntry.id.desc())


def last_verification() -> AuditEntry | None:
    """The latest recorded check of the chain (page or command line)."""
    stmt = select(AuditEntry).where(AuditEntry.action == "audit.verify").order_by(AuditEntry.id.desc())
    return db.session.scalars(stmt.limit(1)).first()


def neighbour_hash(row: AuditEntry) -> str | None:
    """The hash of the row just before this one in the chain (None: it is the first)."""
    stmt = select(AuditEntry.hash).where(AuditEntry.id < row.id).order_by(AuditEntry.id.desc()).limit(1)
    return db.session.scalar(stmt)
