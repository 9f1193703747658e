"""Chinese everywhere (issue 12, item 8): headless Chromium opens, as each role of the
demo, the pages the browser tests open and every page the role's menu links to, and
reads what a person reads there — the rendered text (`innerText`), the page title, the
placeholders, tooltips, alternative texts and button captions — for English words.

An English word is a run of ASCII letters that is not on a short list of names and
units people use as they are (MB, XLSX, PDF, Excel, Word, ID, IP …), and not part of a
URL, an e-mail address, a file name, a path, a hash, a number or a date. Two kinds of
text are not sentences and are left out: what the page itself marks as code (`<code>`,
`<pre>`, `<kbd>`, `<samp>`: a command, a record's raw detail), and the identifiers of
the data — the users' login names and the checklist standards' codes, read from the
database. Each word found is reported with the page and the line it sits in. The run logs of /admin/reminders/runs are
filled by real runs of the sweep, the digest e-mails, the weekly summary and the
month-end circular first, so "sent=0 failed=0 skipped_reason=…" would be caught."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.seed.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Names and units written as they are in Chinese text too.
ALLOWED = {
    # sizes and file types
    "KB", "MB", "GB", "XLSX", "XLS", "CSV", "DOCX", "DOC", "PDF", "JPG", "JPEG", "PNG", "GIF", "WEBP",
    "TXT", "ZIP",
    # programs people know by name
    "Excel", "Word", "WPS", "PowerPoint", "FreeOTP", "Microsoft", "Authenticator",
    # technical terms without a Chinese name in use
    "API", "ID", "IP", "URL", "HTTPS", "SM3", "SM4", "UTF", "GBK", "UTC",
}  # fmt: skip
# Left out before looking for words: things that are not words of a sentence.
NOT_WORDS = [
    re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I),  # URLs
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail addresses
    re.compile(
        r"[\w\u4e00-\u9fff（）()\-.]*\.(?:xlsx|xls|csv|docx|doc|pdf|jpe?g|png|gif|webp|txt|zip)\b", re.I
    ),
    re.compile(r"(?<![\w/])/[\w\-./?=&%]+"),  # paths written out (/admin/reminders/runs)
    re.compile(r"\b[A-Z]{1,3}-(?:\d+(?:[.-]\d+)*)?(?![A-Za-z])"),  # checklist item codes (A-1, WH-2.3, WH-)
    re.compile(r"\b[0-9a-f]{16,}\b"),  # hashes
    re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+"),  # ISO date-times
]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# What a person reads: the rendered text but for what the page marks as code, then the
# placeholders, tooltips, alternative texts, captions of input buttons and the page title.
READ = """() => {
  const code = Array.from(document.querySelectorAll('code, pre, kbd, samp'));
  const shown = code.map(el => el.style.display);
  code.forEach(el => { el.style.display = 'none'; });
  const parts = [document.title, document.body.innerText];
  code.forEach((el, i) => { el.style.display = shown[i]; });
  for (const el of document.querySelectorAll('[placeholder], [title], img[alt], input[type=submit], input[type=button]')) {
    for (const name of ['placeholder', 'title', 'alt']) { if (el.getAttribute(name)) parts.push(el.getAttribute(name)); }
    if (el.matches('input[type=submit], input[type=button]') && el.value) parts.push(el.value);
  }
  return parts.join('\\n');
}"""
LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
  .map(a => [a.closest('nav') !== null, a.getAttribute('href')]).filter(([, h]) => h && h.startsWith('/'))"""
# Besides the menu: the first link of each kind of detail page a list leads to.
DETAILS = [
    re.compile(p)
    for p in (
        r"/circulars/\d+$",
        r"/urge/\d+$",
        r"/checklists/\d+$",
        r"/checklists/templates/\d+$",
        r"/jobs/\d+$",
        r"/admin/users/\d+$",
        r"/audit/\d+$",
    )
]


def ascii_words(text: str, names: frozenset[str] = frozenset()) -> list[str]:
    """The English words of `text`: runs of ASCII letters not on the allowed list (nor
    among `names`, the data's identifiers), once URLs, e-mail addresses, file names,
    paths, item codes, hashes and date-times are left out."""
    for pattern in NOT_WORDS:
        text = pattern.sub(" ", text)
    return [w for w in WORD.findall(text) if w not in ALLOWED and w not in names]


def _context(text: str, word: str) -> str:
    """The line of `text` where `word` first stands, shortened."""
    for line in text.splitlines():
        if re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", line):
            return " ".join(line.split())[:120]
    return ""


# ---------------------------------------------------------------- the scanner itself


@pytest.mark.parametrize(
    "text, words",
    [
        ("sent=0 failed=0 skipped_reason=未配置", ["sent", "failed", "skipped_reason"]),
        ("due_soon=3 overdue=1 items=4", ["due_soon", "overdue", "items"]),
        ("2026-02  4月  Feb", ["Feb"]),
        ("Internal Server Error", ["Internal", "Server", "Error"]),
        ("None", ["None"]),
        ("每个文件不超过 10 MB，可上传 XLSX、PDF 或 Word 文件", []),
        ("请访问 https://court.example.cn/help?x=1 或发邮件至 lnfy@court.example.cn", []),
        ("附件：整改报告-2026.docx、现场照片.JPG", []),
        ("检查项 A-1、B-2.3 已核验；客户端地址 IP 127.0.0.1", []),
        ("接口文档见 /openapi.json", []),
        ("2026年2月 87.5% ↑2 ＝ —", []),
        ("支持 .xlsx 和 .csv（UTF-8 或 GBK 编码）", []),
        ("本条哈希 3d4d7cbe94114bf11446318c39a827c0（UTC 2026-12-06T11:05:55.882865）", []),
        ("省略前缀“WH-”；SM3 值", []),
        ("admin 系统管理员 登录成功（auth.login）", ["admin", "auth", "login"]),
    ],
)
def test_the_scanner_finds_english_words(text, words):
    """What the browser test counts as English — it fails on "sent=0" and the like — and
    what it lets through."""
    assert ascii_words(text) == words


def test_the_datas_own_identifiers_are_no_english():
    """A login name or a standard's code, read from the database, is data, not a word."""
    assert ascii_words("admin 系统管理员；代码 wuhua", frozenset({"admin", "wuhua"})) == []


# ---------------------------------------------------------------- the pages


@pytest.fixture(scope="module")
def demo_server(standard_templates):
    """The live server with the demo's items, visits, checklists and history, a wall
    display, and one run of each scheduled job (so the run log has rows of every kind)."""
    from app.dashboard import services as display_services
    from app.jobs import scheduler
    from app.org.models import Unit, User
    from app.seed.demo import load_demo_checklists, load_demo_history, load_demo_tasks, load_demo_visits
    from app.tasks.models import Assignment, Task
    from app.timeutil import utcnow
    from app.visits.models import Visit

    server = standard_templates
    app = server.app
    with app.app_context():
        now = utcnow()
        load_demo_tasks(now)
        load_demo_visits(now)
        load_demo_checklists(now)
        load_demo_history(now)
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        benxi = db.session.scalar(select(Unit).where(Unit.name == "本溪市中级人民法院"))
        _token, server.wall_token = display_services.create_display(admin, benxi, label="大厅", now=now)
        db.session.commit()
        db.session.remove()
    scheduler.sweep_job(app)  # the sweep and the digest e-mails (no mail server: the reason why)
    scheduler.weekly_job(app)
    scheduler.circular_job(app)
    with app.app_context():
        from app.checklists.models import ChecklistTemplate

        server.names = frozenset(db.session.scalars(select(User.username))) | frozenset(
            db.session.scalars(select(ChecklistTemplate.family))
        )
        server.ids = {
            "assignment": db.session.scalar(select(Assignment.id).order_by(Assignment.id)),
            "task": db.session.scalar(select(Task.id).order_by(Task.id)),
            "project": db.session.scalar(select(Task.project_id).where(Task.project_id.is_not(None))),
            "visit": db.session.scalar(select(Visit.id).order_by(Visit.id)),
        }
        db.session.remove()
    return server


def _pages(ids: dict[str, int | None]) -> dict[str, list[str]]:
    """Per user: the pages the other browser tests open as that role; from "/" the test
    also follows every link of the role's menu."""
    detail = [
        f"/assignments/{ids['assignment']}",
        f"/tasks/{ids['task']}",
        f"/projects/{ids['project']}",
        f"/visits/{ids['visit']}",
        f"/visits/{ids['visit']}/print",
    ]
    return {
        "lnfy": [
            "/",
            "/dashboard",
            "/today",
            "/trends",
            "/rankings",
            "/rankings/print",
            "/rankings?metric=overdue",
            "/my",
            "/assignments",
            "/completion",
            "/completion/print",
            "/visits",
            "/visits/coverage",
            "/checklists",
            "/checklists/matrix?family=wuhua",
            "/checklists/templates",
            "/notifications",
            "/circulars",
            "/urge",
            "/jobs",
            *detail,
        ],
        "bxzy": [
            "/",
            "/dashboard",
            "/my",
            "/assignments",
            "/projects/new",
            "/imports/tasks",
            "/visits/new",
            *detail,
        ],
        "hrfy": ["/", "/today", "/my", "/assignments", "/checklists"],
        "hlft": ["/", "/today", "/my", "/assignments", "/checklists"],
        "admin": [
            "/",
            "/admin/units",
            "/admin/users",
            "/admin/import",
            "/admin/displays",
            "/admin/reminders/rules",
            "/admin/reminders/calendar",
            "/admin/reminders/runs",
        ],
        "secadmin": ["/"],
        "auditor": ["/", "/audit"],
    }


def _login(new_page, username: str):
    rec = new_page()
    page = rec.page
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)  # the role's first page (a 三员 has his own)
    return rec


def _skip(href: str) -> bool:
    """Links that are not pages to read: downloads, logout, anchors."""
    path = urlsplit(href).path
    return path.endswith((".xlsx", ".docx", ".csv", ".json")) or path in ("/logout", "/auth/logout")


def _read(
    rec, url: str, found: dict[str, list[str]], names: frozenset[str], status: int = 200
) -> list[tuple[bool, str]]:
    """Open `url`, record its English words in `found`, return its links (in the menu?, href)."""
    resp = rec.page.goto(url) if status == 200 else rec.goto_expecting(url, status)
    assert resp is not None and resp.status == status, f"{url} answered {resp.status if resp else None}"
    rec.page.wait_for_load_state("load")
    text = rec.page.evaluate(READ)
    for word in ascii_words(text, names):
        found.setdefault(word, []).append(f"{url}：{_context(text, word)}")
    return rec.page.evaluate(LINKS)


def test_every_page_speaks_chinese(demo_server, new_page):
    """No English word on any page a role opens, at its menu or in the other browser
    tests; the run log lists every job's counts in Chinese."""
    found: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for username, pages in _pages(demo_server.ids).items():
        rec = _login(new_page, username)
        queue, kinds = list(pages), set()
        while queue:
            url = queue.pop(0)
            if (username, url) in seen or _skip(url):
                continue
            seen.add((username, url))
            for in_menu, link in _read(rec, url, found, demo_server.names):
                kind = next((p.pattern for p in DETAILS if p.match(urlsplit(link).path)), None)
                if (in_menu and url == "/") or (kind and kind not in kinds):
                    kinds.add(kind)
                    queue.append(link)
        if username == "hlft":  # the error pages a person may meet
            _read(rec, "/admin/users", found, demo_server.names, status=403)
            _read(rec, "/assignments/99999999", found, demo_server.names, status=404)
        rec.assert_clean()
    wall = new_page()
    _read(wall, f"/wall/{demo_server.wall_token}", found, demo_server.names)
    _read(wall, "/login", found, demo_server.names)
    wall.assert_clean()

    report = "\n".join(
        f"{word}: {places[0]}（共 {len(places)} 处）" for word, places in sorted(found.items())
    )
    assert not found, f"页面上出现英文单词：\n{report}"
    assert len(seen) > 40  # the pages were read (every role's menu as well as the list above)


def test_the_run_log_reads_in_chinese(demo_server, new_page):
    """The run log shows every kind of run, its counts said in Chinese."""
    rec = _login(new_page, "admin")
    rec.page.goto("/admin/reminders/runs")
    text = rec.page.get_by_test_id("runs").inner_text()
    for job in ("每日提醒", "每日汇总邮件", "周报", "月末通报"):
        assert job in text, job
    assert "临期提醒" in text and "逾期催办" in text and "发出汇总通知" in text
    assert "未发送原因：" in text  # the digest's: no mail server configured
    assert "=" not in text, text
    assert ascii_words(text) == [], text
    rec.assert_clean()


def test_the_rules_table_lines_up_and_saves(demo_server, new_page):
    """/admin/reminders/rules: each field sits under its own header (the headers were one
    column off), and a row's fields, though in cells of their own, save with its 保存."""
    rec = _login(new_page, "admin")
    page = rec.page
    page.goto("/admin/reminders/rules")
    table = page.locator("table").first
    headers = table.locator("thead th")
    row = table.locator("tbody tr").first
    cells = row.locator("td")
    assert cells.count() == headers.count() == 6
    for i in range(6):
        head, cell = headers.nth(i).bounding_box(), cells.nth(i).bounding_box()
        assert abs(head["x"] - cell["x"]) < 1 and abs(head["width"] - cell["width"]) < 1, i
    days = row.locator("input[name=days]")
    new_value = str(int(days.input_value()) + 1)
    days.fill(new_value)
    row.get_by_role("button", name="保存").click()
    page.wait_for_load_state("load")
    assert "已保存" in page.locator("body").inner_text()
    assert (
        page.locator("table").first.locator("tbody tr").first.locator("input[name=days]").input_value()
        == new_value
    )
    rec.assert_clean()
