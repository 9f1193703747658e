"""The login form does not reveal whether a username exists: the same status, the same
message and the same password-hash work for an unknown name as for a wrong password."""

from __future__ import annotations

import re
import statistics
import time

from app.org import services as org_services
from app.timeutil import utcnow


def _attempt(client, username: str, password: str, address: str):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _message(resp) -> str:
    alerts = re.findall(r'role="alert">([^<]*)<', resp.get_data(as_text=True))
    return " | ".join(a.strip() for a in alerts)


def test_unknown_name_and_wrong_password_answer_alike(db, demo, app):
    """Status and message are identical; the page differs only in the echoed username."""
    c = app.test_client()
    known = _attempt(c, "bxzy", "Wrong@2026x", "10.1.0.1")
    unknown = _attempt(c, "bxzy_nobody", "Wrong@2026x", "10.1.0.2")
    assert known.status_code == unknown.status_code and known.status_code in (400, 401, 200)
    assert _message(known) and _message(known) == _message(unknown)
    page = known.get_data(as_text=True).replace('value="bxzy"', "")
    assert page == unknown.get_data(as_text=True).replace('value="bxzy_nobody"', "")


def test_unknown_names_cost_a_password_check_too(db, demo, app, monkeypatch):
    """Each refusal computes exactly one password hash of the configured kind."""
    calls: list[str] = []
    real = org_services.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        calls.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(org_services, "check_password_hash", spy)
    c = app.test_client()
    _attempt(c, "bxzy", "Wrong@2026x", "10.2.0.1")
    _attempt(c, "no_such_user", "Wrong@2026x", "10.2.0.2")
    assert len(calls) == 2 and calls[0] == calls[1], calls


def test_unknown_names_take_as_long_as_wrong_passwords(db, demo, app):
    """With a realistic hash cost, the median times of the two refusals are within 2×."""
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:60000"
    org_services.create_user(
        None,
        username="timing_user",
        display_name="计时",
        unit=demo.benxi,
        roles=["staff"],
        password="Timing@2026x",
        now=utcnow(),
    )
    db.session.commit()
    c = app.test_client()
    known, unknown = [], []
    for i in range(6):
        for name, bucket in (("timing_user", known), (f"nobody_{i}", unknown)):
            start = time.perf_counter()
            _attempt(c, name, "Wrong@2026x", f"10.3.{i}.{len(bucket) + (0 if bucket is known else 100)}")
            bucket.append(time.perf_counter() - start)
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2, (known, unknown)
