"""Background jobs through the pages: a large task-list import (check, then commit), a
large completion export and the month-end circular are queued by the request and run
by the scheduler's runner (`run_pending` here); the job page shows progress, the
owner alone sees, cancels and downloads; a cancelled or crashed job saves nothing."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from app.background import lock, services
from app.background.batches import DUPLICATE
from app.background.models import BackgroundJob
from app.background.registry import KINDS, Kind, Outcome, job_kind
from app.background.runner import run_job, run_pending
from app.exports.xlsx import HEADER_ROW
from app.importing import ImportBatch
from app.reminders.models import Circular
from app.tasks import importer
from app.tasks.models import Assignment, Task
from app.timeutil import utcnow
from tests import factories

ROWS = 30  # rows of the "large" sheet; the tests lower IMPORT_INLINE_ROWS to make it large


def _sheet(n: int, *, repeat: dict[int, int] | None = None, bad: set[int] = frozenset()) -> bytes:
    """A task list of n items for 甲一区人民法院; row i repeats row repeat[i]; rows in
    `bad` name a unit that does not exist."""
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "任务名称", "责任单位", "完成时限"])
    for i in range(1, n + 1):
        same = (repeat or {}).get(i, i)
        unit = "不存在人民法院" if i in bad else "甲一区人民法院"
        ws.append([i, f"后台导入事项{same:04d}", unit, "2026年6月30日"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def world(app, db, tree):
    """An assigner of 甲市中院 with a project; jobs of more than 5 rows go to the background."""
    app.config.update(IMPORT_INLINE_ROWS=5)
    owner = factories.user("importer", tree.inter1, ["assigner"])
    colleague = factories.user("colleague", tree.inter1, ["assigner"])
    factories.receivers(tree.base1, tree.base2)
    project = factories.project(owner)
    db.session.commit()
    return type("World", (), {"owner": owner, "colleague": colleague, "project": project, "tree": tree})


def _upload(client, project, data: bytes, name: str = "清单.xlsx"):
    return client.post(
        "/imports/tasks",
        data={"project_id": str(project.id), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _job_id(resp) -> int:
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
    location = resp.headers["Location"]
    assert "/jobs/" in location, location
    return int(location.rstrip("/").split("/")[-1])


def _items(db, project) -> int:
    db.session.expire_all()
    n = db.session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project.id))
    db.session.rollback()
    return n


def _job(db, job_id: int) -> BackgroundJob:
    db.session.expire_all()
    return db.session.get(BackgroundJob, job_id)


# ---------------------------------------------------------------- the import


def test_large_import_is_checked_and_committed_by_jobs(app, db, client, login, world):
    """Upload → job page (queued, no scheduler: says so) → run → preview opens by itself;
    commit → job → all items, with the project page as the result."""
    login(world.owner)
    job_id = _job_id(_upload(client, world.project, _sheet(ROWS)))
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "任务清单导入：检查" in page and "排队中" in page
    assert "若长时间未开始，请联系管理员确认 qiangji-scheduler 服务在运行" in page
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert (status["state"], status["finished"], status["cancellable"]) == ("queued", False, True)
    assert _items(db, world.project) == 0 and db.session.scalar(select(func.count(ImportBatch.id))) == 0

    assert run_pending(app) == [(job_id, "done")]
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["state"] == "done" and status["percent"] == 100 and status["follow"] is True
    assert status["message"] == f"检查完成：共 {ROWS} 行，全部通过检查。"
    batch_id = int(status["link_url"].rstrip("/").split("/")[-1])
    assert status["link_url"].endswith(f"/imports/tasks/{batch_id}")
    preview = client.get(status["link_url"]).get_data(as_text=True)
    assert "全部通过检查" in preview and preview.count("✓ 可导入") == ROWS
    assert _items(db, world.project) == 0  # the check saved nothing

    commit_id = _job_id(client.post(f"/imports/tasks/{batch_id}/commit", data={}))
    # a second click joins the job already queued for this batch
    assert _job_id(client.post(f"/imports/tasks/{batch_id}/commit", data={})) == commit_id
    assert "正在后台导入，查看进度" in client.get(f"/imports/tasks/{batch_id}").get_data(as_text=True)
    assert run_pending(app) == [(commit_id, "done")]
    status = client.get(f"/jobs/{commit_id}.json").get_json()
    assert status["message"] == f"导入完成：新增并交办 {ROWS} 项。"
    assert status["link_url"].endswith(f"/projects/{world.project.id}") and status["follow"] is False
    assert _items(db, world.project) == ROWS
    assignments = db.session.scalar(
        select(func.count())
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(Task.project_id == world.project.id)
    )
    assert assignments == ROWS
    assert _job(db, commit_id).done == ROWS and _job(db, commit_id).total == ROWS
    # the upload is gone once its job has ended
    assert not list((services.jobs_dir() / "uploads").glob("*"))


def test_a_small_sheet_is_still_answered_at_once(app, db, client, login, world):
    """At most IMPORT_INLINE_ROWS rows: straight to the preview, no job."""
    login(world.owner)
    resp = _upload(client, world.project, _sheet(3))
    assert resp.status_code == 302 and "/imports/tasks/" in resp.headers["Location"]
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 0


def test_the_batched_check_finds_what_one_pass_finds(app, db, world, monkeypatch):
    """Checked in batches of 7 (a job) or all at once (a page): the same errors on the
    same rows — a row repeating one from an earlier batch, and unknown units."""
    data = _sheet(ROWS, repeat={9: 2, 25: 3, 26: 3}, bad={4, 17})
    one_pass = importer.preview(world.owner, world.project, "a.xlsx", data, now=utcnow())
    expected = [(r["row"], r["parse_errors"], r["errors"], r["skip"]) for r in one_pass.rows]
    db.session.rollback()
    monkeypatch.setattr(importer, "CHECK_BATCH", 7)
    calls = []
    batched = importer.preview(
        world.owner, world.project, "a.xlsx", data, now=utcnow(), progress=lambda d, t: calls.append((d, t))
    )
    assert [(r["row"], r["parse_errors"], r["errors"], r["skip"]) for r in batched.rows] == expected
    assert sum(1 for _, _, errors, _ in expected if errors == [DUPLICATE]) == 3
    assert sum(1 for _, _, errors, _ in expected if errors and errors != [DUPLICATE]) == 2
    assert calls[0] == (0, ROWS) and calls[-1] == (ROWS, ROWS) and len(calls) == 1 + -(-ROWS // 7)


def test_bad_rows_are_refused_at_once_and_no_job_is_queued(app, db, client, login, world):
    """Committing with an error row not excluded: 400 on the preview page, no job."""
    login(world.owner)
    job_id = _job_id(_upload(client, world.project, _sheet(ROWS, bad={6})))
    run_pending(app)
    batch_id = _job(db, job_id).result["batch_id"]
    resp = client.post(f"/imports/tasks/{batch_id}/commit", data={})
    assert resp.status_code == 400 and "第 7 行有错误" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 1
    job = _job_id(client.post(f"/imports/tasks/{batch_id}/commit", data={"exclude_rows": ["7"]}))
    assert run_pending(app) == [(job, "done")]
    assert _items(db, world.project) == ROWS - 1


def test_a_corrupt_large_file_fails_in_chinese(app, db, client, login, world):
    """A CSV that is too big to check at once but is no task list: the job fails with the reader's message."""
    login(world.owner)
    job_id = _job_id(_upload(client, world.project, b"a,b,c\n" * 40, "x.csv"))
    assert run_pending(app) == [(job_id, "failed")]
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["failed"] and "任务名称" in status["message"]
    assert client.get(f"/jobs/{job_id}").status_code == 200


# ---------------------------------------------------------------- cancel, crash


def _commit_job(app, db, client, world) -> tuple[int, int]:
    """(batch id, queued commit job id) for a clean sheet of ROWS rows."""
    job_id = _job_id(_upload(client, world.project, _sheet(ROWS)))
    run_pending(app)
    batch_id = _job(db, job_id).result["batch_id"]
    return batch_id, _job_id(client.post(f"/imports/tasks/{batch_id}/commit", data={}))


def test_cancel_a_queued_job(app, db, client, login, world):
    """Cancelled before it starts: nothing runs; a second cancel is refused."""
    login(world.owner)
    batch_id, job_id = _commit_job(app, db, client, world)
    resp = client.post(f"/jobs/{job_id}/cancel")
    assert resp.status_code == 303
    assert run_pending(app) == []
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["state"] == "cancelled" and status["message"] == services.CANCELLED
    again = client.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 400 and services.FINISHED_ALREADY in again.get_data(as_text=True)
    assert _items(db, world.project) == 0
    assert db.session.get(ImportBatch, batch_id).status == "preview"


def test_cancel_a_running_import_saves_nothing(app, db, client, login, world):
    """Asked to stop while it runs: it stops at its next batch and rolls the import back."""
    login(world.owner)
    batch_id, job_id = _commit_job(app, db, client, world)
    db.session.commit()
    assert services.claim_next("test:1", now=utcnow()) == job_id  # the scheduler has taken it …
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 303  # … when its owner cancels
    assert "正在取消" in client.get(f"/jobs/{job_id}.json").get_json()["message"]
    assert run_job(app, job_id) == "cancelled"
    assert _items(db, world.project) == 0
    assert _job(db, job_id).state == "cancelled"
    assert db.session.get(ImportBatch, batch_id).status == "preview"  # it can be committed again


def test_a_job_cut_off_by_a_crash_is_marked_failed_and_applied_nowhere(app, db, client, login, world):
    """Claimed (running) when the scheduler died: its transaction never committed; the
    next scheduler start marks it failed in Chinese, drops its half-written file, and
    the batch can be committed again."""
    login(world.owner)
    batch_id, job_id = _commit_job(app, db, client, world)
    db.session.commit()
    services.claim_next("deadhost:1", now=utcnow())
    half = services.jobs_dir() / str(job_id)
    half.mkdir()
    (half / ".result.xlsx.part").write_bytes(b"half")
    assert services.fail_interrupted(now=utcnow()) == 1
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["state"] == "failed" and status["message"] == services.INTERRUPTED
    assert not half.exists()
    assert run_pending(app) == []
    assert _items(db, world.project) == 0
    again = _job_id(client.post(f"/imports/tasks/{batch_id}/commit", data={}))
    assert run_pending(app) == [(again, "done")] and _items(db, world.project) == ROWS


def test_a_job_that_raises_rolls_back_and_says_so(app, db, world, monkeypatch):
    """An unexpected error inside the work: nothing saved, a Chinese message naming the error."""
    batch = importer.preview(world.owner, world.project, "a.xlsx", _sheet(ROWS), now=utcnow())
    job = services.enqueue(world.owner, "tasks.import_commit", {"batch_id": batch.id}, now=utcnow())
    db.session.commit()
    calls = {"n": 0}
    real = importer.services.assign_task

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == ROWS // 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer.services, "assign_task", flaky)
    assert run_pending(app) == [(job.id, "failed")]
    failed = _job(db, job.id)
    assert "后台任务执行出错，未保存任何结果" in failed.message and "RuntimeError" in failed.message
    assert _items(db, world.project) == 0


# ---------------------------------------------------------------- who may see a job


def test_only_the_owner_sees_cancels_or_downloads_a_job(app, db, client, login, world):
    """A colleague of the same court, and anyone elsewhere, gets 404 on every job URL;
    /jobs lists one's own jobs only."""
    login(world.owner)
    job_id = _job_id(_upload(client, world.project, _sheet(ROWS)))
    client.post("/logout")
    outsider = factories.user("outsider", world.tree.base2, ["assigner"])
    db.session.commit()
    for who in (world.colleague, outsider):
        login(who)
        for method, url in (
            ("GET", f"/jobs/{job_id}"),
            ("GET", f"/jobs/{job_id}.json"),
            ("POST", f"/jobs/{job_id}/cancel"),
            ("GET", f"/jobs/{job_id}/download"),
        ):
            assert client.open(url, method=method).status_code == 404, (who.username, url)
        assert f"#{job_id}" not in client.get("/jobs").get_data(as_text=True)
        client.post("/logout")
    login(world.owner)
    assert f"#{job_id}" in client.get("/jobs").get_data(as_text=True)
    assert _job(db, job_id).state == "queued"


# ---------------------------------------------------------------- the completion export


@pytest.fixture
def items(app, db, world):
    """Eight items of 甲市中院, each assigned to 甲一区 and 甲二区 (16 counted rows)."""
    tree = world.tree
    for i in range(8):
        task = factories.task(world.owner, world.project, title=f"导出事项{i}", deadline=date(2026, 6, 30))
        factories.assign(world.owner, task, tree.base1, tree.base2)
    db.session.commit()
    return 16


def test_a_large_completion_export_is_a_job_with_a_download(app, db, client, login, world, items):
    """Over EXPORT_INLINE_ITEMS the XLSX is written by a job — every item, no cap — and
    downloaded from the job page; at or under it, answered at once."""
    login(world.owner)
    small = client.get(f"/completion.xlsx?unit={world.tree.inter1.id}")
    assert small.status_code == 200 and small.data[:2] == b"PK"
    app.config["EXPORT_INLINE_ITEMS"] = items - 1
    resp = client.get(f"/completion.xlsx?unit={world.tree.inter1.id}")
    assert resp.status_code == 303
    job_id = _job_id(resp)
    assert _job_id(client.get(f"/completion.xlsx?unit={world.tree.inter1.id}")) == job_id  # joins it
    assert run_pending(app) == [(job_id, "done")]
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["done"] == items and status["total"] == items
    assert status["download_name"] == "甲市中级人民法院完成清单.xlsx"
    download = client.get(status["download_url"])
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    data = download.data
    download.close()
    book = load_workbook(io.BytesIO(data), read_only=True)
    detail = [r for r in book.worksheets[1].iter_rows(values_only=True) if r and r[2]]
    titles = [r[2] for r in detail if str(r[2]).startswith("导出事项")]
    assert len(titles) == items
    assert "下载 甲市中级人民法院完成清单.xlsx" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def _rows_of(data: bytes) -> list:
    """The header and data rows of the first sheet (the title row above them left out)."""
    book = load_workbook(io.BytesIO(data), read_only=True)
    return [r for r in book.worksheets[0].iter_rows(min_row=HEADER_ROW, values_only=True) if r and r[0]]


def test_a_large_assignment_list_export_is_a_job_with_every_row(app, db, client, login, world, items):
    """/assignments.xlsx past EXPORT_INLINE_ITEMS: a job — the list's filters kept, every
    row, no cap — downloaded from the job page; a second click joins the same job."""
    login(world.owner)
    unit = world.tree.base1.id
    small = client.get(f"/assignments.xlsx?unit={unit}")
    assert small.status_code == 200 and small.data[:2] == b"PK"
    inline = _rows_of(small.data)
    small.close()
    assert len(inline) == items // 2 + 1  # base1's items and the header
    app.config["EXPORT_INLINE_ITEMS"] = items // 2 - 1
    resp = client.get(f"/assignments.xlsx?unit={unit}")
    assert resp.status_code == 303
    job_id = _job_id(resp)
    assert _job_id(client.get(f"/assignments.xlsx?unit={unit}")) == job_id
    assert run_pending(app) == [(job_id, "done")]
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["done"] == status["total"] == items // 2
    download = client.get(status["download_url"])
    rows = _rows_of(download.data)
    download.close()
    assert rows == inline  # the same sheet, the unit filter kept


def test_a_large_export_through_the_api_answers_202_and_a_job(app, db, client, world, items):
    """API clients get 202 with where to poll; the job's file holds every item."""
    headers = factories.bearer(client, world.owner)
    app.config["EXPORT_INLINE_ITEMS"] = 2
    resp = client.get(f"/api/v1/assignments.xlsx?unit={world.tree.inter1.id}", headers=headers)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    body = resp.get_json()
    assert resp.headers["Location"] == body["status_url"]
    assert body["job"]["state"] == "queued" and body["job"]["download_url"] is None
    completion = client.get(f"/api/v1/completion-list.xlsx?unit={world.tree.inter1.id}", headers=headers)
    assert completion.status_code == 202
    done = dict(run_pending(app))
    assert set(done.values()) == {"done"} and len(done) == 2
    status = client.get(body["status_url"], headers=headers).get_json()
    assert status["state"] == "done"
    download = client.get(status["download_url"], headers=headers)
    assert len(_rows_of(download.data)) == items + 1
    download.close()
    status = client.get(completion.get_json()["status_url"], headers=headers).get_json()
    download = client.get(status["download_url"], headers=headers)
    book = load_workbook(io.BytesIO(download.data), read_only=True)
    download.close()
    detail = [
        r for r in book.worksheets[1].iter_rows(values_only=True) if r and str(r[2]).startswith("导出事项")
    ]
    assert len(detail) == items  # no cap


def test_results_are_deleted_after_their_retention(app, db, client, login, world, items):
    """The nightly run deletes results older than JOB_RESULT_DAYS; the page then says so."""
    login(world.owner)
    app.config["EXPORT_INLINE_ITEMS"] = 1
    job_id = _job_id(client.get("/completion.xlsx"))
    run_pending(app)
    path = services.result_path(_job(db, job_id))
    assert path is not None and path.is_file()
    assert services.purge_results(now=utcnow(), days=7) == {"results": 0, "uploads": 0}
    db.session.execute(
        update(BackgroundJob).where(BackgroundJob.id == job_id).values(finished_at=datetime(2020, 1, 1))
    )
    db.session.commit()
    assert services.purge_results(now=utcnow(), days=7)["results"] == 1
    db.session.commit()
    assert not path.exists()
    assert client.get(f"/jobs/{job_id}/download").status_code == 404
    assert "结果文件已过保存期限" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


# ---------------------------------------------------------------- the circular


def test_the_circular_is_drafted_by_a_job(app, db, client, login, tree):
    """生成上月通报稿: a job whose page opens the draft when done; asked again, the draft opens at once."""
    reviewer = factories.user("reviewer", tree.high, ["reviewer"])
    db.session.commit()
    login(reviewer)
    job_id = _job_id(client.post("/circulars/draft"))
    assert db.session.scalar(select(func.count(Circular.id))) == 0
    assert run_pending(app) == [(job_id, "done")]
    made = db.session.scalars(select(Circular)).one()
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["follow"] and status["link_url"].endswith(f"/circulars/{made.id}")
    assert made.unit_id == tree.high.id and made.status == "draft"
    again = client.post("/circulars/draft")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/circulars/{made.id}")


# ---------------------------------------------------------------- the runner itself


@job_kind("test.count", "测试任务")
def _count_job(ctx):
    for i in range(1, 4):
        ctx.progress(i, 3, force=True)
    return Outcome("数完了。", {"n": 3})


def test_progress_is_visible_while_the_job_runs_and_the_page_knows_the_scheduler(
    app, db, client, login, world, monkeypatch
):
    """Progress is written on its own connection (seen before the job commits); with a
    live scheduler lock the queued page says it is queued, not that nobody is there."""
    assert "test.count" in KINDS
    login(world.owner)
    job_id = services.enqueue(world.owner, "test.count", {}, now=utcnow(), total=3).id
    db.session.commit()
    lock.acquire("schedhost:1", now=utcnow())
    assert "排队中，等待后台任务进程开始执行" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    seen = []

    def watching(ctx):
        outcome = _count_job(ctx)
        seen.append(client.get(f"/jobs/{job_id}.json").get_json())  # before the runner commits
        return outcome

    monkeypatch.setitem(KINDS, "test.count", Kind("test.count", "测试任务", watching))
    assert run_pending(app) == [(job_id, "done")]
    assert (seen[0]["state"], seen[0]["done"], seen[0]["total"]) == ("running", 3, 3)
    assert _job(db, job_id).result == {"n": 3}
