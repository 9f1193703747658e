"""Job pages: the owner's list, one job with its progress bar (polled as JSON by
static/js/app.js), cancel, and the download of its result."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.background import bp, lock, services
from app.background.models import BackgroundJob
from app.background.registry import KINDS, label_of
from app.extensions import db
from app.timeutil import fmt_datetime, utcnow
from app.views_util import actor, run_service

WAITING = "排队中，等待后台任务进程开始执行…"
NO_SCHEDULER = "等待后台任务进程…（若长时间未开始，请联系管理员确认 qiangji-scheduler 服务在运行）"
CANCELLING = "正在取消：当前这一批处理完后停止，不保存任何结果…"
LIST_SIZE = 100


def _load(job_id: int, action: str = "job.view") -> BackgroundJob:
    return authz.get_scoped_or_404(BackgroundJob, job_id, action, current_user)


def status_of(job: BackgroundJob, *, scheduler_alive: bool | None = None) -> dict[str, Any]:
    """What the job page shows, as the page renders it and as /jobs/<id>.json answers."""
    kind = KINDS.get(job.kind)
    note = job.message or ""
    if job.state == "queued":
        alive = lock.scheduler_alive(now=utcnow()) if scheduler_alive is None else scheduler_alive
        note = WAITING if alive else NO_SCHEDULER
    elif job.state == "running" and job.cancel_requested:
        note = CANCELLING
    elif job.state == "running":
        note = (kind.running_note if kind else None) or "正在处理…"
    link = kind.link(job) if (kind and kind.link and job.state == "done" and job.result) else None
    download = (
        url_for("jobs.job_download", job_id=job.id)
        if job.state == "done" and services.result_path(job) is not None
        else None
    )
    return {
        "id": job.id,
        "kind": job.kind,
        "label": label_of(job.kind),
        "state": job.state,
        "state_label": job.state_label,
        "finished": job.finished,
        "done": job.done or 0,
        "total": job.total,
        "percent": job.percent,
        "message": note,
        "failed": job.state == "failed",
        "cancellable": not job.finished and not job.cancel_requested,
        "download_url": download,
        "download_name": job.result_filename if download else None,
        "expired": job.state == "done" and bool(job.result_filename) and download is None,
        "link_text": link[0] if link else None,
        "link_url": link[1] if link else None,
        "follow": bool(kind and kind.follow and link),
        "created_at": fmt_datetime(job.created_at),
        "finished_at": fmt_datetime(job.finished_at),
    }


@bp.route("/jobs")
@login_required
def job_list():
    authz.require(current_user, "job.list")
    jobs = list(
        db.session.scalars(
            authz.scope(select(BackgroundJob), BackgroundJob, current_user)
            .order_by(BackgroundJob.id.desc())
            .limit(LIST_SIZE)
        )
    )
    alive = lock.scheduler_alive(now=utcnow())
    return render_template(
        "background/job_list.html", rows=[(j, status_of(j, scheduler_alive=alive)) for j in jobs]
    )


@bp.route("/jobs/<int:job_id>")
@login_required
def job_detail(job_id: int):
    job = _load(job_id)
    return render_template("background/job_detail.html", job=job, s=status_of(job))


@bp.route("/jobs/<int:job_id>.json")
@login_required
def job_status(job_id: int):
    return jsonify(status_of(_load(job_id)))


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@login_required
def job_cancel(job_id: int):
    job = _load(job_id, "job.cancel")
    outcome, status = run_service(lambda: services.request_cancel(actor(), job, now=utcnow()))
    if outcome is None:
        db.session.refresh(job)
        return render_template("background/job_detail.html", job=job, s=status_of(job)), status
    if outcome == "cancelled":
        flash("任务已取消。", "success")
    else:
        flash("已请求取消：任务将在当前这一批处理完后停止，不保存任何结果。", "warning")
    return redirect(url_for("jobs.job_detail", job_id=job_id), 303)


@bp.route("/jobs/<int:job_id>/download")
@login_required
def job_download(job_id: int):
    job = _load(job_id)
    path = services.result_path(job) if job.state == "done" else None
    if path is None:
        abort(404)
    return send_file(
        path,
        as_attachment=True,
        download_name=job.result_filename or path.name,
        max_age=0,
    )
