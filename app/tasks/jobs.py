"""The task domain's background jobs, run by the scheduler process (app.background):
a large task-list import — its check and its commit — and the XLSX exports of a large
scope: the completion list and the assignment list. Each loads what it needs again,
checks access again as the user who asked (who may have lost it since), and calls the
same service as the page."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import current_app, url_for

from app import authz
from app.background import services as background
from app.background.models import BackgroundJob
from app.background.registry import ALL_OR_NOTHING, Outcome, job_kind
from app.background.runner import JobContext
from app.background.services import read_upload
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch
from app.org.models import Unit
from app.tasks import importer, list_export
from app.tasks.export import completion_period, completion_xlsx, item_values
from app.tasks.models import Project
from app.tasks.queries import (
    assignment_ids_query,
    assignments_query,
    completion_items_query,
    completion_rows,
    stream,
)
from app.timeutil import local_today, utcnow

EXPORT_INLINE_ITEMS = 5000  # default of EXPORT_INLINE_ITEMS: a larger export is a background job

EXPORT_PROGRESS_EVERY = 1000  # rows of the detail sheet between two progress reports


def commit_message(result: dict) -> str:
    """The import's outcome as the page's flash message says it."""
    return (
        f"导入完成：新增并交办 {result['created']} 项"
        + (f"，排除 {len(result['excluded'])} 行" if result["excluded"] else "")
        + (f"，{result['already']} 项此前已导入、已跳过" if result["already"] else "")
        + (f"，{result['duplicates']} 行重名、未导入" if result.get("duplicates") else "")
        + "。"
    )


def _preview_link(job) -> tuple[str, str]:
    return "查看检查结果并确认导入", url_for("tasks.task_import_preview", batch_id=job.result["batch_id"])


def _project_link(job) -> tuple[str, str]:
    return "查看项目", url_for("tasks.project_detail", project_id=job.result["project_id"])


@job_kind("tasks.import_preview", "任务清单导入：检查", link=_preview_link, follow=True)
def import_preview(ctx: JobContext) -> Outcome:
    """Check every row of an uploaded task list (nothing written); keep it as a batch to commit."""
    project = db.session.get(Project, ctx.params["project_id"])
    if project is None or not authz.can(ctx.owner, "project.add_task", project):
        raise ServiceError("该项目不存在，或您已无权向该项目导入事项。")
    data = read_upload(ctx.params["upload"])
    batch = importer.preview(
        ctx.owner, project, ctx.params["filename"], data, now=ctx.now, progress=ctx.progress
    )
    bad = len(importer.bad_rows(batch))
    verdict = f"其中 {bad} 行有错误" if bad else "全部通过检查"
    return Outcome(f"检查完成：共 {len(batch.rows)} 行，{verdict}。", {"batch_id": batch.id})


@job_kind("tasks.import_commit", "任务清单导入：写入", link=_project_link, running_note=ALL_OR_NOTHING)
def import_commit(ctx: JobContext) -> Outcome:
    """Create and assign every checked row of a batch in one transaction — or nothing."""
    batch = db.session.get(ImportBatch, ctx.params["batch_id"])
    if batch is None or not authz.sees(ctx.owner, batch) or not authz.can(ctx.owner, "import.tasks"):
        raise ServiceError("该导入批次不存在，或您已无权导入任务清单。")
    result = importer.commit(
        ctx.owner, batch, exclude_rows=ctx.params.get("exclude", []), now=ctx.now, progress=ctx.progress
    )
    return Outcome(commit_message(result), dict(result))


def _counted(items, ctx: JobContext):
    """The items as they stream to the sheet, reporting every EXPORT_PROGRESS_EVERY."""
    n = 0
    for item in items:
        yield item
        n += 1
        if n % EXPORT_PROGRESS_EVERY == 0:
            ctx.progress(n)
    ctx.progress(n, force=True)


@job_kind("tasks.completion_xlsx", "完成清单导出（Excel）")
def completion_export(ctx: JobContext) -> Outcome:
    """The completion list of a large scope as XLSX, every item in it, kept for download."""
    p = ctx.params
    today = date.fromisoformat(p["today"])
    with ctx.reading():  # a long read: no write lock held while the sheet is written
        root = db.session.get(Unit, p["unit_id"])
        if root is None or not authz.can(ctx.owner, "completion.view", root):
            raise ServiceError("该单位不存在，或不在您的管辖范围内。")
        project = db.session.get(Project, p["project_id"]) if p.get("project_id") else None
        if p.get("project_id") and (project is None or not authz.can(ctx.owner, "project.view", project)):
            raise ServiceError("该项目不存在，或您无权查看。")
        scope = {
            "project_id": project.id if project else None,
            "date_from": date.fromisoformat(p["from"]) if p.get("from") else None,
            "date_to": date.fromisoformat(p["to"]) if p.get("to") else None,
        }
        rows = completion_rows(ctx.owner, root, today, **scope)
        total = sum(r.total for r in rows)
        ctx.progress(0, total, force=True)
        items = stream(item_values(completion_items_query(ctx.owner, root, today, **scope)))
        title = f"{root.name}完成清单"
        period = completion_period(project.name if project else None, scope["date_from"], scope["date_to"])
        data = completion_xlsx(title, rows, _counted(items, ctx), today, period=period)
    ctx.save_result(f"{title}.xlsx", data)
    return Outcome(f"导出完成：汇总 {len(rows)} 个单位，明细 {total:,} 项。")


def inline_limit() -> int:
    """The most items an export writes within the request; more is a background job."""
    return int(current_app.config.get("EXPORT_INLINE_ITEMS", EXPORT_INLINE_ITEMS))


def queue(owner: Any, kind: str, params: dict[str, Any]) -> BackgroundJob:
    """The job for these parameters: the one already queued or running (a second click
    joins it), or a new one."""
    return background.active_job(owner, kind, **params) or background.enqueue(
        owner, kind, params, now=utcnow()
    )


def queue_completion_export(
    owner: Any, root: Unit, project: Project | None, date_from, date_to
) -> BackgroundJob:
    return background.enqueue_once(
        owner,
        "tasks.completion_xlsx",
        {
            "unit_id": root.id,
            "project_id": project.id if project else None,
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "today": local_today().isoformat(),
            "filename": f"{root.name}完成清单.xlsx",
        },
        now=utcnow(),
    )


def queue_list_export(owner: Any, f, title: str) -> BackgroundJob:
    return background.enqueue_once(
        owner,
        "tasks.assignment_list_xlsx",
        {"filters": list_export.filters_params(f), "today": local_today().isoformat(), "title": title},
        now=utcnow(),
    )


@job_kind("tasks.assignment_list_xlsx", "事项承办导出（Excel）")
def assignment_list_export(ctx: JobContext) -> Outcome:
    """The filtered assignment list as XLSX, every row, in the list's order, kept for
    download: the same query and sheet as the list's own export, as the user who asked."""
    p = ctx.params
    today = date.fromisoformat(p["today"])
    with ctx.reading():  # a long read: no write lock held while the sheet is written
        f = list_export.filters_from_params(p["filters"])
        if f.unit_id is not None:
            unit = db.session.get(Unit, f.unit_id)
            if unit is None or not authz.sees(ctx.owner, unit):
                raise ServiceError("该单位不存在，或不在您的管辖范围内。")
        total = list_export.count_rows(assignment_ids_query(ctx.owner, f, today))
        ctx.progress(0, total, force=True)
        out = io.BytesIO()
        count = list_export.write(
            assignments_query(ctx.owner, f, today),
            out,
            title=p["title"],
            today=today,
            counted=lambda rows: _counted(rows, ctx),
            period=list_export.period_of(f),
        )
    ctx.save_result(list_export.file_name(p["title"], today), out.getvalue())
    return Outcome(f"导出完成：共 {count:,} 项。")
