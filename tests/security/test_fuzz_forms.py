"""Hostile input through every form (等保: 入侵防范; issue #10 "Bad input").

Forms are found, not listed: each demo account crawls the pages it can reach (the menu,
then the links on each page, one page per route), and every <form> on them — its
action, its input/select/textarea names and the values the page filled in — becomes a
target. Hypothesis then posts mutations of the page's own values as the account that
saw the form: hostile strings (SQL, HTML/JS, 100k characters, NUL and control
characters, right-to-left marks, emoji), impossible dates, huge and negative numbers,
wrong types, missing and repeated fields, hostile file names and corrupt workbooks.

Asserted for every example: no response ≥ 500; a 4xx changed nothing in the database
(audit, login-attempt and session rows aside) and stored no file; a 4xx page says why in
Chinese; the database-error net in app/main/errors.py never had to catch anything.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.auth.models import LoginAttempt
from app.extensions import db as _db
from app.org.models import Unit, UnitClosure, User, UserRole

ACTORS = ["admin", "secadmin", "auditor", "lnfy", "bxzy", "bxzy_ld", "hrfy", "hlft"]
EXAMPLES_PER_FORM = 10
# Rows a refused request may still write: the audit trail records denials, the login
# throttle records failures, the session row its last-seen time.
UNCHECKED_TABLES = {"audit_log", "login_attempts", "user_sessions", "alembic_version"}
# Forms whose success would end the fuzzing session itself (healed after, but pointless).
SKIP_ACTIONS = ("/logout",)
SKIP_PAGES = (".xlsx", ".docx", "/attachments/", "/static/", "/bootstrap/", "/api/")

HOSTILE_TEXT = [
    "' OR '1'='1' --",
    "1; DROP TABLE users; --",
    '" OR 1=1 /*',
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}",
    "长" * 100_000,
    "\x00",
    "a\x00b",
    "\x01\x02\x0b\x0c\x1b\x7f\x85\u2028",
    "\r\n\t",
    "\u202e\u2066evil\u2069\u200f",
    "😀👨‍👩‍👧‍👦🇨🇳" * 3,
    '=HYPERLINK("http://x","y")',
    "",
    " ",
    "null",
    "[]",
    '{"a": 1}',
]
HOSTILE_DATES = [
    "2026-02-30",
    "2022年13月",
    "0000-00-00",
    "9999-12-31",
    "1900-01-01",
    "2026/01/01",
    "01/02/2026",
]
HOSTILE_NUMBERS = [
    "2147483648",
    "-2147483649",
    str(2**64),
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "1.5",
    "0x10",
    "١٢",
    "１２",
    "9" * 5000,
]


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buf, "PNG")
    return buf.getvalue()


def _workbook() -> bytes:
    """A workbook with formulas, a huge number, a wrong-typed date and a 40k-character cell."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(
        ["任务名称", "责任单位", "完成时限", "单位全称", "上级单位", "层级", "用户名", "姓名", "所属单位"]
    )
    ws.append(
        ['=HYPERLINK("http://x","y")', "=1+1", 2**70, "@SUM(A1)", "-1", "+1", "<script>", "长" * 40000, 3.5]
    )
    ws.append(
        [None, "本溪市中级人民法院", "2026年13月", "示例法院", "不存在的法院", "基层人民法院", "a", "b", "c"]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FILES = [
    ("佐证.png", _png),
    ("../../../etc/passwd.png", _png),
    ('<script>alert(1)</script>".png', _png),
    ("长" * 300 + ".pdf", lambda: b"%PDF-1.4 not really"),
    ("report.exe", lambda: b"MZ\x90\x00" + b"\x00" * 64),
    ("empty.xlsx", lambda: b""),
    ("corrupt.xlsx", lambda: b"PK\x03\x04" + b"\xff" * 200),
    ("hostile.xlsx", _workbook),
    ("nul.csv", lambda: "任务名称,责任单位\n法庭\x00建设,本溪\n".encode()),
    ("gbk.csv", lambda: "任务名称,责任单位\n法庭建设,本溪\n".encode("gbk")),
    ("\u202egnp.exe", _png),
]


# ---------------------------------------------------------------- finding the forms


@dataclass
class FormField:
    name: str
    kind: str  # input type, "select", "textarea"
    value: str | None
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    actor: str
    page: str
    action: str
    method: str
    multipart: bool
    fields: dict[str, FormField] = field(default_factory=dict)

    @property
    def file_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.kind == "file"]


class _Page(HTMLParser):
    """The links and forms of one page."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: FormField | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.url, a["href"]))
        elif tag == "form":
            self._form = {
                "action": urljoin(self.url, a.get("action") or self.url),
                "method": (a.get("method") or "get").lower(),
                "multipart": "multipart" in (a.get("enctype") or ""),
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "button") and a.get("name"):
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                value = None  # known option, not sent unless picked
            else:
                value = a.get("value", "")
            self._form["fields"].append(FormField(a["name"], kind, value, [a.get("value", "on")]))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = FormField(a["name"], "select", None)
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or self._select.value is None:
                self._select.value = value
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = FormField(a["name"], "textarea", "")
            self._form["fields"].append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _endpoint(app, url: str, method: str) -> tuple[str, dict] | None:
    parts = urlsplit(url)
    try:
        return app.url_map.bind("localhost").match(parts.path, method=method.upper())
    except RequestRedirect:
        return None
    except HTTPException:
        return None


def crawl(app, client, actor: str, protected: dict[str, set[int]], budget: int = 90) -> list[Form]:
    """The forms an account meets on the pages it can reach (one page per GET route)."""
    start = sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or set()) and not r.arguments and not r.rule.startswith(SKIP_PAGES)
    )
    queue, seen_endpoints, forms = list(start), set(), []
    while queue and budget > 0:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.path.startswith(SKIP_PAGES):
            continue
        if any(s in parts.path for s in SKIP_PAGES):
            continue
        match = _endpoint(app, url, "GET")
        if match is None or match[0] in seen_endpoints or match[0] in ("auth.logout", "main.healthz"):
            continue
        if any(v in protected.get(k, set()) for k, v in match[1].items()):
            continue
        seen_endpoints.add(match[0])
        budget -= 1
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        resp = client.get(path)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        page = _Page(f"http://localhost{path}")
        page.feed(resp.get_data(as_text=True))
        queue.extend(page.links)
        for raw in page.forms:
            target = _endpoint(app, raw["action"], raw["method"] if raw["method"] == "post" else "GET")
            if target is None or raw["action"].split("?")[0].endswith(SKIP_ACTIONS):
                continue
            if any(v in protected.get(k, set()) for k, v in target[1].items()):
                continue  # would deactivate, reset or re-role the fuzzing accounts themselves
            form = Form(actor, path, raw["action"], raw["method"], raw["multipart"])
            for f in raw["fields"]:
                known = form.fields.get(f.name)
                if known is None:
                    form.fields[f.name] = f
                else:  # several checkboxes of one name: one field with all options
                    known.options += f.options
                    known.value = known.value if known.value is not None else f.value
            forms.append(form)
    return forms


def form_key(app, form: Form) -> tuple:
    endpoint = _endpoint(app, form.action, form.method if form.method == "post" else "GET")
    return (endpoint[0] if endpoint else form.action, form.method, frozenset(form.fields))


# ---------------------------------------------------------------- mutations

KEEP, MISSING = object(), object()


def _field_strategy(f: FormField):
    choices = [st.just(KEEP), st.just(MISSING), st.sampled_from(HOSTILE_TEXT)]
    if f.kind == "file":
        return st.one_of(st.just(MISSING), st.sampled_from(range(len(FILES))).map(lambda i: ("file", i)))
    if f.kind in ("date",) or any(
        k in f.name for k in ("date", "deadline", "start", "end", "due", "from", "to")
    ):
        choices.append(st.sampled_from(HOSTILE_DATES))
    if f.kind == "number" or f.name.endswith(
        ("_id", "_ids", "id", "ids", "version", "percent", "weight", "days")
    ):
        choices.append(st.sampled_from(HOSTILE_NUMBERS))
        choices.append(st.integers(min_value=-(2**70), max_value=2**70).map(str))
    pool = [o for o in f.options if o is not None] + HOSTILE_NUMBERS[:3] + HOSTILE_TEXT[:4]
    choices.append(st.lists(st.sampled_from(pool), min_size=2, max_size=4))  # repeated field
    choices.append(st.text(max_size=40))
    return st.one_of(*choices)


def mutations(form: Form):
    return st.fixed_dictionaries({name: _field_strategy(f) for name, f in form.fields.items()})


def request_data(form: Form, mutation: dict) -> dict:
    data: dict = {}
    for name, f in form.fields.items():
        choice = mutation[name]
        if choice is MISSING:
            continue
        if choice is KEEP:
            if f.kind == "file" or f.value is None:
                continue
            data[name] = f.value
        elif isinstance(choice, tuple) and choice[0] == "file":
            filename, make = FILES[choice[1]]
            data[name] = (io.BytesIO(make()), filename)
        else:
            data[name] = choice
    return data


# ---------------------------------------------------------------- the state that must not change


def snapshot(app) -> str:
    """A digest of every table a refused request must leave alone, and of the upload folder."""
    digest = hashlib.sha256()
    for table in _db.metadata.sorted_tables:
        if table.name in UNCHECKED_TABLES:
            continue
        rows = _db.session.execute(table.select()).all()
        digest.update(table.name.encode())
        for row in sorted(repr(tuple(r)) for r in rows):
            digest.update(row.encode())
    _db.session.commit()  # the test's own connection, and no transaction left open
    uploads = Path(app.config["UPLOAD_DIR"])
    files = (
        sorted(str(p.relative_to(uploads)) for p in uploads.rglob("*") if p.is_file())
        if uploads.exists()
        else []
    )
    digest.update("\n".join(files).encode())
    return digest.hexdigest()


CHINESE = re.compile(r"[\u4e00-\u9fff]")
REASON = re.compile(
    r'(invalid-feedback[^>]*>|alert-(?:danger|warning)[^>]*>|data-testid="(?:error|conflict)-message">)\s*([^<]+)'
)


def _says_why(resp) -> bool:
    if resp.is_json:
        body = resp.get_json(silent=True) or {}
        return bool(CHINESE.search(str(body.get("error") or body.get("errors") or body.get("message") or "")))
    html = resp.get_data(as_text=True)
    return any(CHINESE.search(m[1]) for m in REASON.findall(html))


# ---------------------------------------------------------------- the test


class World:
    """The demo accounts, their clients, and a way to put them back after a form hurt them."""

    def __init__(self, app, demo) -> None:
        self.app, self.demo = app, demo
        users = _db.session.scalars(select(User).where(User.username.in_(ACTORS))).all()
        self.users = {u.username: u.id for u in users}
        self.saved = {u.id: (u.password_hash, u.unit_id, sorted(u.roles)) for u in users}
        units = {u.unit_id for u in users}
        above = _db.session.scalars(
            select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id.in_(units))
        )
        self.protected = {"user_id": set(self.saved), "unit_id": units | set(above)}
        self.clients = {}

    def client(self, actor: str):
        if actor not in self.clients:
            self.clients[actor] = self.login(actor)
        return self.clients[actor]

    def login(self, actor: str):
        c = self.app.test_client()
        resp = c.post("/login", data={"username": actor, "password": self.demo.password})
        assert resp.status_code == 302, (actor, resp.status_code)
        self.clients[actor] = c
        return c

    def heal(self) -> None:
        """Accounts active, passwords, roles and units as they were; no lock-outs."""
        for uid, (pw, unit_id, roles) in self.saved.items():
            _db.session.execute(
                update(User)
                .where(User.id == uid)
                .values(password_hash=pw, unit_id=unit_id, active=True, must_change_password=False)
            )
            _db.session.execute(UserRole.__table__.delete().where(UserRole.user_id == uid))
            for role in roles:
                _db.session.add(UserRole(user_id=uid, role=role))
        _db.session.execute(update(Unit).where(Unit.id.in_(self.protected["unit_id"])).values(is_active=True))
        _db.session.execute(LoginAttempt.__table__.delete())
        _db.session.commit()


def fuzz_form(app, world: World, form: Form, endpoint: str, stats: Counter, failures: list, state: dict):
    """EXAMPLES_PER_FORM mutations of one form, posted as the account that saw it."""

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutation=mutations(form))
    def run(mutation):
        client = world.client(form.actor)
        data = request_data(form, mutation)
        parts = urlsplit(form.action)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if form.method == "post":
            multipart = form.multipart or bool(form.file_fields)
            resp = client.post(path, data=data, content_type="multipart/form-data" if multipart else None)
        else:
            query = {k: v for k, v in data.items() if not isinstance(v, tuple)}
            resp = client.get(path, query_string=query)
        stats["examples"] += 1
        stats[resp.status_code // 100 * 100] += 1
        where = f"{form.actor} {form.method.upper()} {endpoint} {sorted(data)}"
        if resp.status_code >= 500:
            failures.append(f"{resp.status_code} {where}")
        elif 400 <= resp.status_code < 500:
            after = snapshot(app)
            if after != state["snapshot"]:
                failures.append(f"{resp.status_code} but something was saved: {where}")
                state["snapshot"] = after
            if resp.status_code not in (401, 404, 405, 413) and not _says_why(resp):
                failures.append(f"{resp.status_code} without a Chinese reason: {where}")
        else:
            state["snapshot"] = None  # a success may save: take a fresh one next time
        if resp.status_code == 302 and "/login" in resp.headers.get("Location", ""):
            world.heal()
            world.login(form.actor)
        if state["snapshot"] is None:
            state["snapshot"] = snapshot(app)

    run()


def test_every_form_takes_hostile_input_without_a_server_error(app, db, demo, net_unused):
    """Every form of every demo account × hostile mutations: 0 responses ≥ 500, nothing half-saved."""
    world = World(app, demo)
    forms: dict[tuple, Form] = {}
    for actor in ACTORS:
        for form in crawl(app, world.client(actor), actor, world.protected):
            forms.setdefault(form_key(app, form), form)
    assert len(forms) >= 40, sorted(k[0] for k in forms)

    stats: Counter = Counter()
    failures: list[str] = []
    state = {"snapshot": snapshot(app)}

    for key, form in sorted(forms.items(), key=lambda kv: (kv[1].actor, str(kv[0]))):
        fuzz_form(app, world, form, key[0], stats, failures, state)
        world.heal()  # whatever the form did to the accounts, the next one starts clean
        for actor in list(world.clients):
            if world.clients[actor].get("/").status_code != 200:
                world.login(actor)
        state["snapshot"] = snapshot(app)
        stats["forms"] += 1

    print(f"\nform fuzz: {stats['forms']} forms, {stats['examples']} examples, statuses {dict(stats)}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
    assert stats["examples"] >= stats["forms"] * EXAMPLES_PER_FORM // 2


def test_the_crawler_finds_the_known_forms(app, db, demo):
    """Sanity: the discovery sees the forms the issue names (e.g. /visits/new with leader_ids)."""
    world = World(app, demo)
    forms = crawl(app, world.client("bxzy"), "bxzy", world.protected)
    visit_forms = [f for f in forms if urlsplit(f.action).path == "/visits/new" and f.method == "post"]
    assert visit_forms and {"leader_ids", "target_ids", "title"} <= set(visit_forms[0].fields)
    assert any(f.file_fields for f in forms), "a form with a file input"
