"""The org domain's background jobs: a large unit or user list's check and its commit,
run by the scheduler process (app.background) as the 系统管理员 who uploaded it."""

from __future__ import annotations

from flask import url_for

from app import authz
from app.background.registry import ALL_OR_NOTHING, Outcome, job_kind
from app.background.runner import JobContext
from app.background.services import read_upload
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch
from app.org import importer

WHAT = {"units": "单位", "users": "用户"}


def _preview_link(job) -> tuple[str, str]:
    return "查看检查结果并确认导入", url_for("org.import_preview", batch_id=job.result["batch_id"])


def _list_link(job) -> tuple[str, str]:
    kind = job.result.get("kind")
    return (f"查看{WHAT.get(kind, '')}列表", url_for("org.units" if kind == "units" else "org.users"))


def _admin(ctx: JobContext) -> None:
    if not authz.can(ctx.owner, "admin.access"):
        raise ServiceError("您已不是系统管理员，不能导入单位或用户。")


@job_kind("org.import_preview", "单位/用户导入：检查", link=_preview_link, follow=True)
def import_preview(ctx: JobContext) -> Outcome:
    """Check an uploaded unit or user list by dry-running every row; keep it as a batch."""
    _admin(ctx)
    data = read_upload(ctx.params["upload"])
    batch = importer.preview(
        ctx.owner, ctx.params["kind"], ctx.params["filename"], data, now=ctx.now, progress=ctx.progress
    )
    bad = importer.bad_rows(batch)
    verdict = f"其中 {bad} 行有错误" if bad else "全部通过检查"
    return Outcome(f"检查完成：共 {len(batch.rows)} 行，{verdict}。", {"batch_id": batch.id})


@job_kind("org.import_commit", "单位/用户导入：写入", link=_list_link, running_note=ALL_OR_NOTHING)
def import_commit(ctx: JobContext) -> Outcome:
    """Save every row of a checked batch in one transaction — or nothing."""
    _admin(ctx)
    batch = db.session.get(ImportBatch, ctx.params["batch_id"])
    if batch is None or not authz.sees(ctx.owner, batch):
        raise ServiceError("该导入批次不存在。")
    count = importer.commit(ctx.owner, batch, now=ctx.now, progress=ctx.progress)
    return Outcome(f"导入成功，共 {count} 条。", {"kind": batch.kind, "created": count})
