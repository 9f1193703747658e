"""The 审计员's pages: browse and filter the audit log, export it, check the chain."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from app import authz
from app.audit import bp, queries, services
from app.audit.chain import GENESIS, link_hash
from app.audit.export import spooled
from app.audit.models import RESULTS, AuditEntry
from app.exports.xlsx import period_text
from app.extensions import db
from app.org.queries import unit_choices
from app.timeutil import local_today
from app.views_util import actor, page_args

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/audit")
@login_required
def log():
    authz.require(current_user, "audit.view")
    filters = queries.parse_filters(request.args)
    for message in filters.errors:
        flash(message, "warning")
    page, size = page_args()
    stmt = queries.rows_query(current_user, filters)
    return render_template(
        "audit/log.html",
        pagination=db.paginate(stmt, page=page, per_page=size, error_out=False),
        filters=filters,
        unit_choices=unit_choices(current_user),
        actions=queries.ACTIONS,
        results=RESULTS,
        check=queries.last_verification(),
        label=queries.action_label,
        reason=queries.reason_label,
        object_label=queries.object_label,
    )


@bp.route("/audit.xlsx")
@login_required
def export():
    """Every row of the filter (no cap), one row in memory at a time."""
    authz.require(current_user, "audit.view")
    filters = queries.parse_filters(request.args)
    stmt = queries.rows_query(current_user, filters).execution_options(yield_per=1000)
    file, count = spooled(
        db.session.scalars(stmt),
        title="审计日志",
        period=period_text(filters.start, filters.end),
        as_of=local_today(),
    )
    g.audit_detail = {"rows": count, "filters": filters.args()}  # on the export's own audit row
    return send_file(file, mimetype=XLSX, as_attachment=True, download_name=f"审计日志-{local_today()}.xlsx")


@bp.route("/audit/<int:entry_id>")
@login_required
def entry(entry_id: int):
    """One row with its hashes, and whether its own link holds."""
    row = authz.get_scoped_or_404(AuditEntry, entry_id, "audit.entry", current_user)
    before = queries.neighbour_hash(row)
    if before is None:
        linked = row.prev_hash == GENESIS or row.prev_hash in services.purge_anchors()
    else:
        linked = before == row.prev_hash
    return render_template(
        "audit/entry.html",
        row=row,
        content_ok=link_hash(row.prev_hash, row) == row.hash,
        linked=linked,
        label=queries.action_label,
        reason=queries.reason_label,
        object_label=queries.object_label,
        results=RESULTS,
    )


@bp.route("/audit/verify", methods=["POST"])
@login_required
def verify():
    """Walk the whole chain now; the check itself is recorded."""
    authz.require(current_user, "audit.view")
    result = services.verify()
    services.event(
        "audit.verify", result="success" if result.ok else "failure", user=actor(), detail=result.as_detail()
    )
    if result.ok:
        flash(f"校验完成：共 {result.rows} 条记录，哈希链完整。", "success")
    else:
        flash(f"校验发现问题：第 {result.broken_at} 号记录处断链（{result.reason}）。", "danger")
    return redirect(url_for("audit.log"))
