"""E-mail for reminders: immediate messages, retries and the daily digest.

Safe to run twice: it selects only deliveries not yet sent and marks each one sent
(or failed, with the error) right after its own SMTP exchange. A failing or hanging
server costs one timeout per message and never touches the in-app notifications."""

from __future__ import annotations

import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.notifications import Notification
from app.org.models import User
from app.reminders.models import Delivery
from app.timeutil import fmt_datetime

MAX_ATTEMPTS = 5
SIGNATURE = "\n\n——\n此邮件由强基通自动发送，请登录系统查看详情并办理。请勿直接回复。"


@dataclass
class MailResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    reason: str | None = None  # why nothing was attempted (e.g. no server configured)
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped}


def _retryable():
    return or_(
        Delivery.status == "pending",
        (Delivery.status == "failed") & (Delivery.attempts < MAX_ATTEMPTS),
    )


def _message(to: str, subject: str, body: str) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr(("强基通", cfg["MAIL_FROM"]))
    msg["To"] = to
    msg["Message-ID"] = make_msgid(domain="qiangji")
    msg.set_content(body + SIGNATURE, charset="utf-8")
    return msg


def _send(msg: EmailMessage) -> None:
    """One SMTP conversation per message: a bad one cannot poison the next."""
    cfg = current_app.config
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
        smtp.send_message(msg)


def _deliver(deliveries: list[Delivery], msg: EmailMessage | None, now: datetime, result: MailResult) -> None:
    """Send one message for these deliveries and mark them all sent or failed."""
    if msg is None:  # no address (any more): nothing to send, nothing to retry
        for d in deliveries:
            d.status, d.last_error = "failed", "收件人未设置电子邮箱"
            d.attempts = MAX_ATTEMPTS
        result.skipped += len(deliveries)
        return
    try:
        _send(msg)
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        for d in deliveries:
            d.status, d.attempts, d.last_error = "failed", d.attempts + 1, error
        result.failed += len(deliveries)
        result.errors.append(f"发送至 {msg['To']} 失败：{error}")
        return
    for d in deliveries:
        d.status, d.attempts, d.sent_at, d.last_error = "sent", d.attempts + 1, now, None
    result.sent += len(deliveries)


def send_pending(now: datetime, *, digest: bool) -> MailResult:
    """Send immediate deliveries (new and retries); with `digest`, also one digest
    e-mail per person. Flushes after each message; the caller commits."""
    result = MailResult()
    if not current_app.config.get("MAIL_SERVER"):
        result.reason = "未配置发信服务器（见部署说明中的邮件设置），邮件暂不发送，待发记录保留。"
        return result
    modes = ["immediate", "digest"] if digest else ["immediate"]
    rows = db.session.execute(
        select(Delivery, Notification, User.email)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(User, User.id == Delivery.recipient_id)
        .where(Delivery.mode.in_(modes), _retryable())
        .order_by(Delivery.recipient_id, Notification.created_at, Delivery.id)
    ).all()
    per_person: dict[int, list[tuple[Delivery, Notification]]] = defaultdict(list)
    emails: dict[int, str | None] = {}
    for d, n, email in rows:
        emails[d.recipient_id] = (email or "").strip() or None
        if d.mode == "immediate":
            to = emails[d.recipient_id]
            msg = _message(to, f"强基通提醒：{_headline(n.message)}", n.message) if to else None
            _deliver([d], msg, now, result)
            db.session.flush()
        else:
            per_person[d.recipient_id].append((d, n))
    for uid, items in per_person.items():
        to = emails[uid]
        msg = None
        if to:
            lines = [f"{i}. {n.message}（{fmt_datetime(n.created_at)}）" for i, (_, n) in enumerate(items, 1)]
            body = f"您好！强基通今日共有 {len(items)} 条提醒：\n\n" + "\n".join(lines)
            msg = _message(to, f"强基通每日提醒（{len(items)} 条）", body)
        _deliver([d for d, _ in items], msg, now, result)
        db.session.flush()
    return result


def _headline(message: str, limit: int = 60) -> str:
    first = message.splitlines()[0] if message else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
