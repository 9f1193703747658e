"""A person at a browser (cookies, the login form's CSRF token, no redirects followed) or
an API caller with a bearer token; every request timed, with the server's SQL headers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

PASSWORD = "Demo@2026"
TIMEOUT = 900  # seconds: a slow page is measured, not abandoned
_CSRF = re.compile(
    r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"'
)
# A background job's page (app/background): /jobs/<id>, its status as JSON at /jobs/<id>.json.
_JOB_PAGE = re.compile(r"^/jobs/(\d+)(?:$|[?#])")
POLL_S = 0.2


class BenchError(RuntimeError):
    """A request did not answer as a logged-in user expects (the row shows it, the run goes on)."""


@dataclass
class Timed:
    ms: float
    status: int
    sql_count: int | None
    sql_ms: float | None
    size: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def csrf_token(html: str) -> str:
    m = _CSRF.search(html)
    if not m:
        raise BenchError("页面上没有 csrf_token 字段")
    return m.group(1) or m.group(2)


class Client:
    """One user's session (or a bearer token, or nobody: the wall display)."""

    def __init__(self, base: str, *, token: str | None = None):
        self.base = base
        self.on_job: Callable[[], None] | None = None
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "qiangji-bench/1"
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> Timed:
        t0 = time.perf_counter()
        resp = self.http.request(method, self.base + path, allow_redirects=False, timeout=TIMEOUT, **kwargs)
        body = resp.content
        ms = (time.perf_counter() - t0) * 1000
        count = resp.headers.get("X-SQL-Count")
        sql_ms = resp.headers.get("X-SQL-Time-Ms")
        return Timed(
            ms=ms,
            status=resp.status_code,
            sql_count=int(count) if count is not None else None,
            sql_ms=float(sql_ms) if sql_ms is not None else None,
            size=len(body),
            body=body,
            headers=dict(resp.headers),
        )

    def get(self, path: str, *, expect: int = 200) -> Timed:
        r = self.request("GET", path)
        if r.status != expect:
            where = r.headers.get("Location", "")
            raise BenchError(f"GET {path} → {r.status}{(' → ' + where) if where else ''}：{r.text[:200]}")
        return r

    def login_once(self, username: str, password: str = PASSWORD) -> Timed:
        """GET the form (its CSRF token), POST it; the POST is what is timed and returned."""
        form = self.get("/login")
        r = self.request(
            "POST",
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
        )
        where = r.headers.get("Location", "")
        if r.status != 302 or "/login" in where:
            raise BenchError(f"{username} 登录失败：{r.status} {where} {r.text[:300]}")
        if "/account/" in where:
            raise BenchError(f"{username} 登录后被要求先处理账号（{where}），无法测量")
        return r

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def wait_for_job(self, first: Timed, path: str, *, follow: bool = True) -> tuple[Timed, bool]:
        """Follow the redirects of a POST (only to a job's page when follow=False). A job's
        page (/jobs/<id>) is polled through /jobs/<id>.json until it finishes; then its
        file is downloaded, or (follow=True) the page it links to is opened. Returns the
        final answer and whether it came from a background job."""
        current = first
        while current.status in (301, 302, 303) and current.headers.get("Location"):
            where = _path(current.headers["Location"], self.base)
            job = _JOB_PAGE.match(where)
            if job:
                return self.poll_job(int(job.group(1)), follow=follow), True
            if not follow:
                break
            current = self.request("GET", where)
        return current, False

    def poll_job(self, job_id: int, *, follow: bool = True, limit_s: float = 3600) -> Timed:
        """Poll a background job until it is finished; its file, its linked page, or its status."""
        if self.on_job is not None:
            self.on_job()
        deadline = time.monotonic() + limit_s
        while True:
            status = self.get(f"/jobs/{job_id}.json")
            data = json.loads(status.text)
            if data.get("finished"):
                if data.get("state") != "done":
                    raise BenchError(
                        f"后台任务{data.get('state_label', data.get('state'))}：{data.get('message')}"
                    )
                if data.get("download_url"):
                    return self.get(_path(data["download_url"], self.base))
                if follow and data.get("link_url"):
                    return self.get(_path(data["link_url"], self.base))
                return status
            if time.monotonic() > deadline:
                raise BenchError(f"后台任务 {job_id} 在 {limit_s:.0f} s 内未完成")
            time.sleep(POLL_S)


def _path(location: str, base: str) -> str:
    return location[len(base) :] if location.startswith(base) else location


def api_token(base: str, username: str, password: str = PASSWORD) -> str:
    resp = requests.post(
        base + "/api/v1/auth/token", json={"username": username, "password": password}, timeout=60
    )
    if resp.status_code != 200:
        raise BenchError(f"{username} 取得 API 令牌失败：{resp.status_code} {resp.text[:300]}")
    return resp.json()["token"]
