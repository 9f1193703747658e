"""E-mail sending against a real SMTP server on loopback (aiosmtpd), a refusing one
and one that never answers."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.notifications import Notification
from app.reminders.mail import send_pending
from app.reminders.models import Delivery
from tests import factories

NOW = datetime(2026, 11, 23, 1, 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Refuse:
    async def handle_DATA(self, server, session, envelope):
        return "550 mailbox unavailable"


@pytest.fixture
def smtp_server(app):
    """Start an SMTP server with `handler` on a free loopback port and point the app at it."""
    started: list[Controller] = []

    def _start(handler):
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5, MAIL_USE_TLS=False)
        return handler

    yield _start
    for controller in started:
        controller.stop()


@pytest.fixture
def hanging_server(app):
    """A server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
    yield
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def people(tree):
    p = type("People", (), {})()
    p.zhang = factories.user("zhang", tree.base1, ["coordinator"], email="zhang@court.example")
    p.li = factories.user("li", tree.base2, ["coordinator"], email="li@court.example")
    return p


def _delivery(db, user, mode: str, message: str, key: str) -> Delivery:
    n = Notification(
        recipient_id=user.id,
        kind="overdue",
        subject_type="Assignment",
        subject_id=1,
        message=message,
        dedupe_key=key,
        created_at=NOW,
    )
    db.session.add(n)
    db.session.flush()
    d = Delivery(notification_id=n.id, recipient_id=user.id, mode=mode, created_at=NOW)
    db.session.add(d)
    db.session.commit()
    return d


def test_immediate_and_digest_sent_one_digest_per_person(app, db, people, smtp_server):
    """Immediate ones go one by one; digests are one e-mail per person, in Chinese UTF-8."""
    server = smtp_server(Collect())
    _delivery(db, people.zhang, "immediate", "【督办】东山人民法庭承办的“选配庭长”已逾期 3 天", "k1")
    _delivery(db, people.zhang, "digest", "【临期】“选址”将于 2026-11-30 到期", "k2")
    _delivery(db, people.zhang, "digest", "【逾期】“编制”已逾期 1 天", "k3")
    _delivery(db, people.li, "digest", "【临期】“装修”将于 2026-12-01 到期", "k4")

    result = send_pending(NOW, digest=False)
    db.session.commit()
    assert result.counts() == {"sent": 1, "failed": 0, "skipped": 0}
    assert len(server.messages) == 1
    assert "督办" in server.messages[0]["Subject"]
    assert "已逾期 3 天" in server.messages[0].get_content()

    result = send_pending(NOW, digest=True)
    db.session.commit()
    assert result.counts() == {"sent": 3, "failed": 0, "skipped": 0}
    digests = server.messages[1:]
    assert sorted(m["To"] for m in digests) == ["li@court.example", "zhang@court.example"]
    zhang = next(m for m in digests if m["To"] == "zhang@court.example")
    assert zhang["Subject"] == "强基通每日提醒（2 条）"
    body = zhang.get_content()
    assert "“选址”将于 2026-11-30 到期" in body and "“编制”已逾期 1 天" in body
    assert zhang.get_content_charset() == "utf-8"
    assert set(db.session.scalars(select(Delivery.status))) == {"sent"}

    again = send_pending(NOW, digest=True)
    assert again.counts() == {"sent": 0, "failed": 0, "skipped": 0}
    assert len(server.messages) == 3  # nothing pending: no empty digest, nothing twice


def test_refused_is_failed_then_retried(app, db, people, smtp_server):
    """A 550 marks the delivery failed with the error; the next run retries it."""
    smtp_server(Refuse())
    d = _delivery(db, people.zhang, "immediate", "【督办】测试", "k1")
    result = send_pending(NOW, digest=False)
    db.session.commit()
    assert result.counts() == {"sent": 0, "failed": 1, "skipped": 0}
    d = db.session.get(Delivery, d.id)
    assert (d.status, d.attempts) == ("failed", 1)
    assert "550" in d.last_error
    assert db.session.scalar(select(Notification.id)) is not None  # in-app notification untouched

    server = smtp_server(Collect())
    result = send_pending(NOW, digest=False)
    db.session.commit()
    assert result.sent == 1 and len(server.messages) == 1
    db.session.refresh(d)
    assert (d.status, d.attempts, d.last_error) == ("sent", 2, None)


def test_hanging_server_times_out_and_run_finishes(app, db, people, hanging_server):
    """A server that never answers costs one timeout per message; both are marked failed."""
    a = _delivery(db, people.zhang, "immediate", "【督办】一", "k1")
    b = _delivery(db, people.li, "immediate", "【督办】二", "k2")
    result = send_pending(NOW, digest=False)
    db.session.commit()
    assert result.counts() == {"sent": 0, "failed": 2, "skipped": 0}
    for d in (a, b):
        d = db.session.get(Delivery, d.id)
        assert d.status == "failed" and d.attempts == 1 and d.last_error


def test_no_server_configured_leaves_pending(app, db, people):
    """No MAIL_SERVER: nothing is sent, the result says why, deliveries stay pending."""
    app.config["MAIL_SERVER"] = ""
    d = _delivery(db, people.zhang, "immediate", "【督办】测试", "k1")
    result = send_pending(NOW, digest=True)
    assert result.counts() == {"sent": 0, "failed": 0, "skipped": 0}
    assert "未配置发信服务器" in result.reason and "邮件暂不发送" in result.reason
    assert db.session.get(Delivery, d.id).status == "pending"


def test_recipient_without_email_is_skipped(app, db, people, smtp_server):
    """A delivery whose recipient has lost the address is skipped, not retried forever."""
    server = smtp_server(Collect())
    d = _delivery(db, people.zhang, "digest", "【临期】测试", "k1")
    people.zhang.email = None
    db.session.commit()
    result = send_pending(NOW, digest=True)
    db.session.commit()
    assert result.counts() == {"sent": 0, "failed": 0, "skipped": 1}
    assert server.messages == []
    assert send_pending(NOW, digest=True).skipped == 0
    assert db.session.get(Delivery, d.id).status == "failed"
