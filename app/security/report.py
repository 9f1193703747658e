"""Evidence for the 等保 evaluator: each GB/T 22239-2019 level-3 application control
(安全计算环境, 8.1.4) this system answers, with this installation's live setting as
evidence, and a plain 未满足 wherever a setting falls short.

Everything is read, nothing changed (except one audit row saying the report was made):
the effective security settings (app.security.settings.get), the configuration, the
database (accounts, roles, the audit chain), and the headers the app really sends (one
request to /healthz through the app itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db

MET, UNMET, NOTE = "满足", "未满足", "说明"
INACTIVE_DAYS = 90


@dataclass
class Item:
    name: str
    status: str  # MET / UNMET / NOTE
    evidence: str
    fix: str = ""  # what to do, when UNMET

    def line(self) -> str:
        text = f"[{self.status}] {self.name}：{self.evidence}"
        return text + (f"——{self.fix}" if self.status == UNMET and self.fix else "")


@dataclass
class Control:
    title: str
    clause: str
    items: list[Item] = field(default_factory=list)

    @property
    def status(self) -> str:
        return UNMET if any(i.status == UNMET for i in self.items) else MET

    def heading(self, number: int) -> str:
        return f"{CN_NUMBERS[number]}、{self.title}（{self.clause}）：{self.status}"


CN_NUMBERS = dict(enumerate("〇一二三四五六七八九十", start=0))


@dataclass
class Report:
    made_at: datetime
    config_name: str
    database: str
    controls: list[Control]

    def lines(self) -> list[str]:
        """The report as lines of text: what the command prints and the DOCX holds."""
        met = sum(1 for c in self.controls if c.status == MET)
        out = [
            "强基通 网络安全等级保护（GB/T 22239-2019 第三级）应用安全自查报告",
            f"生成时间：{self.made_at:%Y-%m-%d %H:%M}（北京时间）；配置：{self.config_name}；数据库：{self.database}",
            f"结论：{len(self.controls)} 类控制中 {met} 类满足，{len(self.controls) - met} 类未满足。",
        ]
        for n, control in enumerate(self.controls, start=1):
            out.append(control.heading(n))
            out.extend("  " + item.line() for item in control.items)
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"

    def docx(self) -> bytes:
        from app.exports.docx import Report as Document

        lines = self.lines()
        doc = Document()
        doc.title(lines[0], size=16)
        for line in lines[1:3]:
            doc.paragraph(line)
        for n, control in enumerate(self.controls, start=1):
            doc.heading(control.heading(n))
            for item in control.items:
                doc.paragraph(item.line(), size=12)
        return doc.to_bytes()


# ---------------------------------------------------------------- helpers


def _ok(cond: bool) -> str:
    return MET if cond else UNMET


def _setting(key: str) -> Any:
    from app.security import settings

    return settings.get(key)


def _role_names(roles) -> str:
    from app.org.models import ROLES

    return "、".join(ROLES.get(r, r) for r in roles) or "（无）"


def _live_headers() -> dict[str, str]:
    """The headers the app sends on an ordinary answer, asked of the app itself."""
    client = current_app.test_client()
    response = client.get("/healthz", base_url="https://localhost")
    headers = {k: v for k, v in response.headers.items()}
    response.close()
    return headers


def _csp_directives(csp: str) -> dict[str, str]:
    out = {}
    for part in csp.split(";"):
        words = part.strip().split(None, 1)
        if words:
            out[words[0].lower()] = words[1] if len(words) > 1 else ""
    return out


# ---------------------------------------------------------------- the controls


def identification(cfg: Any, now: datetime) -> Control:
    from app.auth import passwords
    from app.org.models import ADMIN_ROLES, User

    c = Control("身份鉴别", "8.1.4.1")
    users = db.session.scalar(select(func.count()).select_from(User)) or 0
    c.items.append(
        Item(
            "身份标识唯一",
            MET,
            f"用户名在数据库中有唯一约束（users.username），现有账号 {users} 个，从不删除只停用",
        )
    )
    c.items.append(
        Item(
            "口令复杂度",
            _ok(passwords.PASSWORD_MIN >= 8 and passwords.CLASSES_NEEDED >= 3),
            f"至少 {passwords.PASSWORD_MIN} 位，须含大写字母、小写字母、数字、符号中的 {passwords.CLASSES_NEEDED} 类，"
            f"不得包含用户名，不得在内置常见口令表中（{len(passwords.common_passwords())} 条）",
            "口令长度不少于 8 位、至少三类字符",
        )
    )
    expiry = _setting("PASSWORD_EXPIRY_DAYS")
    c.items.append(
        Item(
            "口令定期更换",
            _ok(0 < expiry <= 90),
            f"PASSWORD_EXPIRY_DAYS = {expiry}"
            + ("（不过期）" if expiry == 0 else " 天，到期后下次登录须修改"),
            "在“安全设置”中把口令有效期设为 1–90 天",
        )
    )
    failures = _setting("LOGIN_MAX_FAILURES")
    c.items.append(
        Item(
            "登录失败处理",
            _ok(failures <= 5),
            f"同一账号同一地址连续失败 {failures} 次后逐次延迟（上限 {_setting('LOGIN_LOCK_MAX_MINUTES')} 分钟）；"
            f"同一地址失败 {_setting('LOGIN_MAX_FAILURES_PER_IP')} 次后只限制它尝试过的账号",
            "连续失败次数上限不宜超过 5 次",
        )
    )
    idle, lifetime = _setting("SESSION_IDLE_MINUTES"), _setting("SESSION_MAX_HOURS")
    c.items.append(
        Item(
            "登录连接超时自动退出",
            _ok(idle <= 30 and lifetime <= 12),
            f"无操作 {idle} 分钟自动退出，单次登录最长 {lifetime} 小时，均在服务器端判定",
            "无操作超时不超过 30 分钟、单次登录不超过 12 小时",
        )
    )
    secure = bool(cfg.get("SESSION_COOKIE_SECURE")) and bool(cfg.get("REMEMBER_COOKIE_SECURE", True))
    c.items.append(
        Item(
            "鉴别信息传输防窃听",
            _ok(secure and bool(cfg.get("SESSION_COOKIE_HTTPONLY"))),
            f"SESSION_COOKIE_SECURE = {bool(cfg.get('SESSION_COOKIE_SECURE'))}，"
            f"REMEMBER_COOKIE_SECURE = {bool(cfg.get('REMEMBER_COOKIE_SECURE'))}，"
            f"SESSION_COOKIE_HTTPONLY = {bool(cfg.get('SESSION_COOKIE_HTTPONLY'))}，"
            f"SESSION_COOKIE_SAMESITE = {cfg.get('SESSION_COOKIE_SAMESITE')}",
            "经 HTTPS 提供服务并设置 SESSION_COOKIE_SECURE=1（生产配置默认开启）",
        )
    )
    mfa = tuple(_setting("MFA_REQUIRED_ROLES"))
    missing = [r for r in ADMIN_ROLES if r not in mfa]
    c.items.append(
        Item(
            "双因素鉴别（管理用户）",
            _ok(not missing),
            f"MFA_REQUIRED_ROLES = {_role_names(mfa)}（口令 + TOTP 动态码）",
            f"须对 {_role_names(missing)} 强制启用双因素认证",
        )
    )
    return c


def access_control(cfg: Any, now: datetime) -> Control:
    from werkzeug.security import check_password_hash

    from app import authz
    from app.org.models import ADMIN_ROLES, ROLES, User, UserRole
    from app.seed.demo import DEMO_PASSWORD, USERS

    c = Control("访问控制", "8.1.4.2")
    per_role = dict(
        db.session.execute(
            select(UserRole.role, func.count())
            .join(User, User.id == UserRole.user_id)
            .where(User.active.is_(True))
            .group_by(UserRole.role)
        ).all()
    )
    c.items.append(
        Item(
            "账户与权限分配",
            MET,
            "按角色授权，"
            + "，".join(f"{ROLES[r]} {per_role.get(r, 0)} 人" for r in ROLES)
            + f"；策略 {len(authz.RULES)} 条，集中在 app/authz.py，未列出的操作一律拒绝",
        )
    )
    demo_names = [u[0] for u in USERS]
    demo = db.session.scalars(select(User).where(User.username.in_(demo_names), User.active.is_(True))).all()
    weak = [u.username for u in demo if check_password_hash(u.password_hash, DEMO_PASSWORD)]
    c.items.append(
        Item(
            "默认账户与默认口令",
            _ok(not weak),
            f"仍使用公开演示口令的启用账号 {len(weak)} 个" + (f"（{'、'.join(weak[:6])}…）" if weak else ""),
            "正式上线前停用演示账号或由安全管理员重置其口令",
        )
    )
    cutoff = now - timedelta(days=INACTIVE_DAYS)
    stale = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.active.is_(True),
            func.coalesce(User.last_login_at, User.created_at) < cutoff,
        )
    )
    c.items.append(
        Item(
            "多余、过期账户",
            NOTE,
            f"{INACTIVE_DAYS} 天以上未登录的启用账号 {stale or 0} 个，供系统管理员复核停用",
        )
    )
    doubled = db.session.scalar(
        select(func.count()).select_from(
            select(UserRole.user_id)
            .where(UserRole.role.in_(ADMIN_ROLES))
            .group_by(UserRole.user_id)
            .having(func.count() > 1)
            .subquery()
        )
    )
    absent = [r for r in ADMIN_ROLES if not per_role.get(r)]
    c.items.append(
        Item(
            "管理用户权限分离（三员分立）",
            _ok(not doubled and not absent),
            f"系统管理员 {per_role.get('admin', 0)} 人、安全管理员 {per_role.get('secadmin', 0)} 人、"
            f"安全审计员 {per_role.get('auditor', 0)} 人；兼任两种管理角色的账号 {doubled or 0} 个"
            "（系统拒绝兼任，任何人不能给自己授权）",
            ("尚未设置：" + _role_names(absent)) if absent else "解除兼任",
        )
    )
    c.items.append(
        Item(
            "访问控制粒度",
            MET,
            "主体为用户，客体为单位树中的每条记录：每人只看到本单位及下级，越权读取答 404、越权操作答 403 并记入审计日志",
        )
    )
    return c


def audit(cfg: Any, now: datetime, result: Any) -> Control:
    from app.audit import services
    from app.audit.models import AuditEntry

    c = Control("安全审计", "8.1.4.3")
    hooks = [f.__name__ for f in current_app.after_request_funcs.get(None, [])]
    installed = "write_audit_events" in hooks
    c.items.append(
        Item(
            "审计覆盖每个用户",
            _ok(installed),
            "登录成功与失败、退出、会话超时、每一次写操作、越权拒绝、导出与证据下载、管理员操作均自动记录"
            + ("" if installed else "（审计钩子未安装）"),
            "审计钩子必须安装（app/audit/hooks.py）",
        )
    )
    c.items.append(
        Item("审计记录内容", MET, "每条记录含时间、用户、单位、客户端地址、操作、对象、结果及详情")
    )
    oldest = db.session.scalar(select(func.min(AuditEntry.at)))
    chain = (
        f"共 {result.rows} 条记录，SM3 哈希链完整"
        if result.ok
        else f"共 {result.rows} 条记录，第 {result.broken_at} 号记录处断链（{result.reason}）"
    )
    c.items.append(
        Item(
            "审计记录防篡改",
            _ok(result.ok),
            chain + (f"，链尾哈希 {result.head}" if result.head else ""),
            "按 README 排查被改动的记录，并向上级报告",
        )
    )
    c.items.append(
        Item(
            "审计记录保存期",
            _ok(services.RETENTION_DAYS >= 180),
            f"清理命令拒绝删除 {services.RETENTION_DAYS} 天内的记录（网络安全法第二十一条：不少于六个月）；"
            f"最早一条记录：{oldest:%Y-%m-%d}"
            if oldest
            else f"清理命令拒绝删除 {services.RETENTION_DAYS} 天内的记录；暂无记录",
        )
    )
    c.items.append(
        Item(
            "审计进程与记录的保护",
            MET,
            "只有安全审计员能查看和导出审计日志；系统中没有修改或删除审计记录的功能，清理只能由服务器命令执行且本身留痕",
        )
    )
    return c


def intrusion(cfg: Any, now: datetime, headers: dict[str, str]) -> Control:
    from config import DEFAULT_SECRET_KEY

    c = Control("入侵防范", "8.1.4.4")
    c.items.append(
        Item(
            "数据有效性检验",
            MET,
            "接口输入经声明的模式校验（整数范围、长度、枚举、日期），表单经 WTForms 校验；拒绝 NUL，剔除其他控制字符；"
            "导出文件中的公式一律写为文本",
        )
    )
    csp = headers.get("Content-Security-Policy", "")
    directives = _csp_directives(csp)
    script = directives.get("script-src", directives.get("default-src", ""))
    csp_ok = bool(csp) and "'unsafe-inline'" not in script and directives.get("frame-ancestors") == "'none'"
    c.items.append(
        Item(
            "内容安全策略（CSP）",
            _ok(csp_ok),
            f"Content-Security-Policy：{csp or '（未发送）'}",
            "必须发送不允许内联脚本、frame-ancestors 'none' 的 CSP",
        )
    )
    nosniff = headers.get("X-Content-Type-Options", "") == "nosniff"
    c.items.append(
        Item(
            "其他安全响应头",
            _ok(nosniff),
            f"X-Content-Type-Options：{headers.get('X-Content-Type-Options', '（未发送）')}；"
            f"X-Frame-Options：{headers.get('X-Frame-Options', '（未发送）')}；"
            f"Referrer-Policy：{headers.get('Referrer-Policy', '（未发送）')}",
            "须发送 X-Content-Type-Options: nosniff",
        )
    )
    hsts = headers.get("Strict-Transport-Security", "")
    c.items.append(
        Item(
            "强制 HTTPS（HSTS）",
            _ok(bool(hsts)),
            f"Strict-Transport-Security：{hsts or '（未发送）'}",
            "生产配置开启 HSTS（HSTS = True）并经 HTTPS 提供服务",
        )
    )
    default_key = cfg.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY)
    c.items.append(
        Item(
            "会话签名密钥",
            _ok(not default_key),
            "SECRET_KEY 是代码中公开的默认值" if default_key else "SECRET_KEY 不是代码中公开的默认值",
            "用环境变量 SECRET_KEY 设置一个随机密钥（生产配置拒绝以默认密钥启动）",
        )
    )
    debug = bool(cfg.get("DEBUG"))
    c.items.append(
        Item("调试模式", _ok(not debug), f"DEBUG = {debug}", "关闭调试模式，否则出错页面会泄露代码与变量")
    )
    return c


def integrity(cfg: Any, now: datetime, headers: dict[str, str], result: Any) -> Control:
    c = Control("数据完整性", "8.1.4.7")
    c.items.append(
        Item(
            "传输完整性",
            _ok(bool(cfg.get("SESSION_COOKIE_SECURE")) and bool(headers.get("Strict-Transport-Security"))),
            f"HTTPS 由反向代理提供；SESSION_COOKIE_SECURE = {bool(cfg.get('SESSION_COOKIE_SECURE'))}，"
            f"HSTS {'已开启' if headers.get('Strict-Transport-Security') else '未开启'}",
            "经 HTTPS 提供服务，开启 SESSION_COOKIE_SECURE 与 HSTS",
        )
    )
    c.items.append(
        Item(
            "存储完整性",
            _ok(result.ok),
            "审计记录以 SM3 链式哈希保护（"
            + ("校验通过" if result.ok else f"第 {result.broken_at} 号记录断链")
            + "）；上传的证据材料保存 SHA-256；多人同时修改同一记录由版本号检测冲突，不会静默覆盖",
            "查明断链原因",
        )
    )
    return c


def confidentiality(cfg: Any, now: datetime, headers: dict[str, str]) -> Control:
    from app.org.models import User

    c = Control("数据保密性", "8.1.4.8")
    c.items.append(
        Item(
            "传输保密性",
            _ok(bool(cfg.get("SESSION_COOKIE_SECURE")) and bool(headers.get("Strict-Transport-Security"))),
            f"SESSION_COOKIE_SECURE = {bool(cfg.get('SESSION_COOKIE_SECURE'))}，"
            f"HSTS {'已开启' if headers.get('Strict-Transport-Security') else '未开启'}",
            "经 HTTPS 提供服务，开启 SESSION_COOKIE_SECURE 与 HSTS",
        )
    )
    method = str(cfg.get("PASSWORD_HASH_METHOD", "scrypt"))
    strong = method.startswith("scrypt") or (
        method.startswith("pbkdf2") and _pbkdf2_rounds(method) >= 600_000
    )
    c.items.append(
        Item(
            "口令存储",
            _ok(strong),
            f"口令只保存加盐哈希，算法 {method}",
            "使用 scrypt（默认）或迭代次数不少于 60 万次的 PBKDF2",
        )
    )
    enrolled = (
        db.session.scalar(select(func.count()).select_from(User).where(User.mfa_secret.is_not(None))) or 0
    )
    c.items.append(
        Item(
            "双因素密钥存储",
            NOTE,
            f"{enrolled} 个账号启用了 TOTP；其密钥保存在数据库 users.mfa_secret 中，数据库文件与备份须按涉密要求保管",
        )
    )
    return c


def _pbkdf2_rounds(method: str) -> int:
    try:
        return int(method.split(":")[2])
    except (IndexError, ValueError):
        return 600_000 if method.count(":") < 2 else 0


def backup(cfg: Any, now: datetime) -> Control:
    from app.backup import last_backup

    c = Control("数据备份恢复", "8.1.4.9")
    last = last_backup()
    advice = (
        "设置 BACKUP_DIR 开启每日定时备份（flask --app wsgi backup create 亦可手工备份），"
        "用 backup verify 校验备份，并定期在另一台机器上用 backup restore 做恢复演练"
    )
    if last is None:
        evidence, status = (
            f"没有任何一次备份记录；每日定时备份{'已开启' if cfg.get('BACKUP_DIR') else '未开启（BACKUP_DIR 未设置）'}",
            UNMET,
        )
    else:
        age = now.replace(tzinfo=None) - last["when"]
        when = last["when"].strftime("%Y-%m-%d %H:%M") + " UTC"
        fresh = last["ok"] and last["exists"] and age <= timedelta(hours=48)
        if not last["ok"]:
            evidence = f"最近一次备份（{when}）失败：{last['error'] or '原因不明'}"
        elif not last["exists"]:
            evidence = f"最近一次备份（{when}）的文件已不在原处：{last['path']}"
        else:
            evidence = f"最近一次成功备份于 {when}，{last['size'] or 0} 字节，{last['path']}"
        if last["ok"] and age > timedelta(hours=48):
            evidence += "；已超过 48 小时没有新的备份"
        status = MET if fresh else UNMET
    c.items.append(Item("本地数据备份与恢复", status, evidence, "" if status == MET else advice))
    c.items.append(
        Item(
            "异地备份",
            UNMET,
            "没有异地备份的记录",
            "将每日备份实时或定时传送到另一机房",
        )
    )
    return c


def residual(cfg: Any, now: datetime, headers: dict[str, str]) -> Control:
    c = Control("剩余信息保护", "8.1.4.10")
    c.items.append(
        Item(
            "鉴别信息的清除",
            MET,
            "退出、修改口令、停用账号、管理员重置口令时，在服务器端结束该用户全部会话并吊销其全部 API 令牌；"
            "登录时更换会话标识与服务器端会话令牌",
        )
    )
    no_store = "no-store" in headers.get("Cache-Control", "")
    c.items.append(
        Item(
            "页面与下载不留缓存",
            _ok(no_store),
            f"Cache-Control：{headers.get('Cache-Control', '（未发送）')}",
            "登录后的页面和下载必须发送 Cache-Control: no-store",
        )
    )
    return c


def personal_data(cfg: Any, now: datetime) -> Control:
    c = Control("个人信息保护", "8.1.4.11")
    c.items.append(
        Item("最少够用", MET, "只保存工作必需的个人信息：姓名、所属单位、工作邮箱与手机号（后两项可不填）")
    )
    c.items.append(
        Item(
            "禁止未授权访问",
            MET,
            "用户信息只有本单位及上级的系统管理员、安全管理员可见；每一次导出与证据下载都记入审计日志",
        )
    )
    return c


def build(*, now: datetime) -> Report:
    """Gather the evidence (inside an app context)."""
    from app.audit import services
    from app.timeutil import to_local

    cfg = current_app.config
    headers = _live_headers()
    chain = services.verify()
    controls = [
        identification(cfg, now),
        access_control(cfg, now),
        audit(cfg, now, chain),
        intrusion(cfg, now, headers),
        integrity(cfg, now, headers, chain),
        confidentiality(cfg, now, headers),
        backup(cfg, now),
        residual(cfg, now, headers),
        personal_data(cfg, now),
    ]
    database = db.engine.url.get_backend_name()
    return Report(to_local(now), cfg.get("NAME", "?"), database, controls)
