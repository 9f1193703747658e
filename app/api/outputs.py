"""What each endpoint answers, as marshmallow schemas: they serialize the answer and are
the document's response bodies, so a tester can hold every answer to the document."""

from __future__ import annotations

from marshmallow import fields as f

from app.api.core import Out
from app.deadlines import DUE_LABELS, LIGHTS
from app.tasks.models import DEADLINE_KINDS, PRIORITIES, RECURRENCES, STATUSES
from app.visits.models import VISIT_STATUSES

_NUM = {"allow_none": True}


class TokenOut(Out):
    token = f.String(required=True)
    expires_in_days = f.Integer(required=True)


class UnitSchema(Out):
    component = True

    id = f.Integer(required=True)
    name = f.String(required=True)
    level = f.String(required=True, metadata={"enum": ["high", "intermediate", "base", "tribunal"]})
    parent_id = f.Integer(allow_none=True, required=True)
    aliases = f.List(f.String(), required=True)
    tribunal_kind = f.String(allow_none=True, required=True)
    feature_label = f.String(allow_none=True, required=True)
    is_active = f.Boolean(required=True)


class JobOut(Out):
    """A background job, as /jobs/<id>.json answers it (poll it; download when done)."""

    id = f.Integer(required=True)
    kind = f.String(required=True)
    label = f.String(required=True)
    state = f.String(required=True, metadata={"enum": ["queued", "running", "done", "failed", "cancelled"]})
    done = f.Integer(required=True)
    total = f.Integer(allow_none=True, required=True)
    percent = f.Integer(allow_none=True, required=True)
    message = f.String(required=True)
    download_url = f.String(allow_none=True, required=True)


class JobAcceptedOut(Out):
    message = f.String(required=True)
    status_url = f.String(
        required=True, metadata={"description": "GET：任务状态（JSON），完成后含 download_url"}
    )
    job = f.Nested(JobOut, required=True)


JOB_ACCEPTED = "事项超过 EXPORT_INLINE_ITEMS（默认 5,000）项：已转为后台任务，轮询 status_url，完成后从 job.download_url 下载"


class CreatedOut(Out):
    id = f.Integer(required=True)
    version = f.Integer(required=True)


class CreatedAssignmentOut(Out):
    id = f.Integer(required=True)
    unit_id = f.Integer(required=True)
    status = f.String(required=True)
    deadline = f.Date(allow_none=True, required=True)
    version = f.Integer(required=True)


class TaskCreatedOut(CreatedOut):
    assignments = f.List(f.Nested(CreatedAssignmentOut), required=True)


class AssignmentSchema(Out):
    component = True

    id = f.Integer(required=True)
    task_id = f.Integer(required=True)
    title = f.String(required=True)
    unit_id = f.Integer(required=True)
    status = f.String(required=True, metadata={"enum": list(STATUSES)})
    deadline = f.Date(allow_none=True, required=True)
    original_deadline = f.Date(allow_none=True, required=True)
    period = f.String(allow_none=True, required=True, metadata={"description": "周期性事项的期次"})
    progress = f.Integer(required=True)
    overdue = f.Boolean(required=True)
    due_soon = f.Boolean(required=True)
    version = f.Integer(required=True, metadata={"description": "乐观锁版本：修改时原样带回"})


class AssignmentPageOut(Out):
    items = f.List(f.Nested(AssignmentSchema), required=True)
    total = f.Integer(required=True)
    page = f.Integer(required=True)
    per_page = f.Integer(required=True)


class RefOut(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)


class PersonOut(Out):
    id = f.Integer(required=True)
    display_name = f.String(required=True)


class TaskLinkOut(Out):
    """A link of the item to another item of its project (issue 15)."""

    id = f.Integer(required=True)
    kind = f.String(required=True, metadata={"enum": ["depends", "related"], "description": "依赖或相关"})
    role = f.String(
        required=True,
        metadata={
            "enum": ["predecessor", "successor", "related"],
            "description": "对方是本事项的前置事项、后续事项或相关事项",
        },
    )
    task_id = f.Integer(required=True)
    title = f.String(
        required=True, allow_none=True, metadata={"description": "对方事项名称；调用者无权查看时为 null"}
    )
    done = f.Boolean(required=True, metadata={"description": "对方事项已交办且各单位均已办结"})
    open_units = f.Integer(required=True, metadata={"description": "对方事项未办结的单位数"})


class TaskDetailOut(Out):
    id = f.Integer(required=True)
    kind = f.String(
        required=True, metadata={"enum": ["task", "rectification"], "description": "清单事项或整改事项"}
    )
    project_id = f.Integer(required=True, allow_none=True)
    project = f.String(required=True, metadata={"description": "所属项目名称（整改事项为“督导整改”）"})
    title = f.String(required=True)
    requirements = f.String(required=True, allow_none=True, metadata={"description": "工作要求"})
    category_id = f.Integer(required=True, allow_none=True)
    category = f.String(required=True, allow_none=True)
    lead_leader = f.String(required=True, allow_none=True, metadata={"description": "牵头领导"})
    priority = f.String(required=True, metadata={"enum": list(PRIORITIES)})
    deadline_kind = f.String(required=True, metadata={"enum": list(DEADLINE_KINDS)})
    deadline = f.Date(required=True, allow_none=True)
    deadline_label = f.String(
        required=True, metadata={"description": "完成时限的写法，如“长期坚持（每月报送）”"}
    )
    recurrence = f.String(required=True, allow_none=True, metadata={"enum": [*RECURRENCES, None]})
    report_every = f.String(required=True, allow_none=True, metadata={"enum": [*RECURRENCES, None]})
    notes = f.String(required=True, allow_none=True)
    owner_unit = f.Nested(RefOut, required=True, metadata={"description": "交办事项的单位"})
    links = f.List(
        f.Nested(TaskLinkOut),
        required=True,
        metadata={"description": "关联事项（依赖/相关）；有未完成的前置事项时，本事项须等待"},
    )


class SplitOut(AssignmentSchema):
    """An assignment beside the one asked for (its parent or a split of it)."""

    component = False

    unit_name = f.String(required=True)


class StepOut(Out):
    id = f.Integer(required=True)
    kind = f.String(required=True, metadata={"enum": ["milestone", "check"]})
    title = f.String(required=True)
    due = f.Date(required=True, allow_none=True)
    done = f.Boolean(required=True)
    done_at = f.DateTime(required=True, allow_none=True)


class ExtensionRequestOut(Out):
    id = f.Integer(required=True)
    status = f.String(required=True, metadata={"enum": ["pending", "granted", "refused"]})
    current_deadline = f.Date(required=True, allow_none=True)
    requested_deadline = f.Date(required=True)
    reason = f.String(required=True)
    comment = f.String(required=True, allow_none=True)
    created_at = f.DateTime(required=True)
    decided_at = f.DateTime(required=True, allow_none=True)


class AttachmentOut(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)
    content_type = f.String(required=True)
    size = f.Integer(required=True)
    url = f.String(required=True, metadata={"description": "下载地址（同一登录或令牌）"})


class HistoryEntryOut(Out):
    kind = f.String(
        required=True,
        metadata={"enum": ["journal", "report"], "description": "journal：办理记录；report：进度反馈"},
    )
    id = f.Integer(required=True, metadata={"description": "办理记录或进度反馈的 id"})
    at = f.DateTime(required=True)
    actor_id = f.Integer(required=True, allow_none=True, metadata={"description": "操作人；系统操作为 null"})
    actor = f.String(required=True, allow_none=True)
    action = f.String(required=True, metadata={"description": "操作代码，如 assignment.acknowledge"})
    action_label = f.String(required=True, metadata={"description": "操作名称，如“签收”"})
    object_type = f.String(
        required=True,
        metadata={"description": "记录的对象：Assignment、Task（本事项的清单事项）或 ProgressReport"},
    )
    before = f.Dict(required=True, allow_none=True, metadata={"description": "修改前（仅 journal）"})
    after = f.Dict(required=True, allow_none=True, metadata={"description": "修改后或操作内容（仅 journal）"})
    text = f.String(required=True, allow_none=True, metadata={"description": "反馈内容（仅 report）"})
    percent = f.Integer(
        required=True, allow_none=True, metadata={"description": "填报的完成百分比（仅 report）"}
    )
    submitted = f.Boolean(
        required=True, allow_none=True, metadata={"description": "同时提交审核（仅 report）"}
    )
    attachments = f.List(
        f.Nested(AttachmentOut), required=True, metadata={"description": "佐证材料（仅 report）"}
    )


class HistoryOut(Out):
    items = f.List(f.Nested(HistoryEntryOut), required=True, metadata={"description": "新的在前"})
    total = f.Integer(required=True)
    page = f.Integer(required=True)
    per_page = f.Integer(required=True)
    next = f.String(
        required=True, allow_none=True, metadata={"description": "下一页的地址；已是最后一页时为 null"}
    )


class AssignmentDetailOut(AssignmentSchema):
    component = False

    status_label = f.String(required=True)
    due_state = f.String(
        required=True,
        metadata={"enum": list(DUE_LABELS), "description": "时限状态（由完成时限和今天推出）"},
    )
    light = f.String(required=True, metadata={"enum": list(LIGHTS), "description": "红黄绿灯"})
    progress_basis = f.String(
        required=True,
        metadata={
            "enum": ["children", "report", "steps", "none"],
            "description": "进度的来源：下级单位平均、最近反馈的百分比、里程碑/检查项比例，或尚无",
        },
    )
    unit = f.Nested(RefOut, required=True, metadata={"description": "责任单位"})
    assigned_by_unit = f.Nested(RefOut, required=True, metadata={"description": "交办单位"})
    responsible_user = f.Nested(PersonOut, required=True, allow_none=True, metadata={"description": "责任人"})
    created_at = f.DateTime(required=True)
    updated_at = f.DateTime(required=True)
    acknowledged_at = f.DateTime(required=True, allow_none=True)
    submitted_at = f.DateTime(required=True, allow_none=True)
    closed_at = f.DateTime(required=True, allow_none=True)
    closed_on = f.Date(required=True, allow_none=True)
    last_report_at = f.DateTime(required=True, allow_none=True)
    task = f.Nested(TaskDetailOut, required=True)
    parent_id = f.Integer(required=True, allow_none=True, metadata={"description": "由哪一事项分解而来"})
    parent = f.Nested(
        SplitOut, required=True, allow_none=True, metadata={"description": "上级事项（您可查看时）"}
    )
    children = f.List(f.Nested(SplitOut), required=True, metadata={"description": "分解到下级单位的事项"})
    steps = f.List(f.Nested(StepOut), required=True, metadata={"description": "里程碑与检查项"})
    extensions = f.List(f.Nested(ExtensionRequestOut), required=True, metadata={"description": "延期申请"})
    history = f.Nested(HistoryOut, required=True, metadata={"description": "办理记录与进度反馈，分页"})


class ReportOut(Out):
    report_id = f.Integer(required=True)
    assignment = f.Nested(AssignmentSchema, required=True)


class ExtensionOut(Out):
    id = f.Integer(required=True)
    status = f.String(required=True, metadata={"enum": ["pending", "granted", "refused"]})
    requested_deadline = f.Date(required=True)


class CompletionRowOut(Out):
    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    total = f.Integer(required=True)
    closed = f.Integer(required=True)
    open = f.Integer(required=True)
    overdue = f.Integer(required=True)
    closed_on_time = f.Integer(required=True)
    on_time_rate = f.Float(required=True, **_NUM)
    review = f.String(
        required=True, allow_none=True, metadata={"description": "高院审核结论：confirmed / returned"}
    )


class CompletionOut(Out):
    unit_id = f.Integer(required=True)
    units = f.List(f.Nested(CompletionRowOut), required=True)


class ImportRowOut(Out):
    row = f.Integer(required=True)
    title = f.String(required=True)
    unit_names = f.List(f.String(), required=True)
    unit_ids = f.List(f.Integer(), required=True)
    deadline = f.Dict(
        required=True, allow_none=True, metadata={"description": "识别出的完成时限（kind、due …）"}
    )
    already_imported = f.Boolean(required=True)
    errors = f.List(f.String(), required=True)


class ImportOut(Out):
    import_id = f.Integer(required=True)
    status = f.String(required=True)
    rows = f.List(f.Nested(ImportRowOut), required=True)


class ImportCommitOut(Out):
    import_id = f.Integer(required=True)
    project_id = f.Integer(required=True)
    created = f.Integer(required=True)
    excluded = f.List(f.Integer(), required=True)
    already = f.Integer(required=True, metadata={"description": "此前已导入而跳过的行数"})


class VisitCreatedOut(CreatedOut):
    status = f.String(required=True, metadata={"enum": list(VISIT_STATUSES)})


class FindingOut(Out):
    id = f.Integer(required=True)
    unit_id = f.Integer(required=True)
    description = f.String(required=True)
    rectification_id = f.Integer(required=True, allow_none=True)
    status = f.String(required=True, allow_none=True)
    deadline = f.Date(required=True, allow_none=True)
    overdue = f.Boolean(required=True)


class VisitOut(Out):
    id = f.Integer(required=True)
    kind = f.String(required=True)
    kind_id = f.Integer(required=True)
    title = f.String(required=True)
    organizer_unit_id = f.Integer(required=True)
    status = f.String(required=True, metadata={"enum": list(VISIT_STATUSES)})
    planned_start = f.Date(required=True)
    planned_end = f.Date(required=True)
    actual_start = f.Date(required=True, allow_none=True)
    actual_end = f.Date(required=True, allow_none=True)
    leader_ids = f.List(f.Integer(), required=True)
    target_unit_ids = f.List(f.Integer(), required=True)
    team = f.String(required=True, allow_none=True)
    topics = f.String(required=True, allow_none=True)
    summary = f.String(required=True, allow_none=True)
    suggestions = f.String(required=True, allow_none=True)
    solved_on_spot = f.String(required=True, allow_none=True)
    version = f.Integer(required=True)
    findings = f.List(f.Nested(FindingOut), required=True)


class FindingCreatedOut(Out):
    id = f.Integer(required=True)
    rectification_id = f.Integer(required=True, metadata={"description": "整改事项（承办事项）id"})


class CoverageRowOut(Out):
    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    level = f.String(required=True)
    visits = f.Integer(required=True)
    last_visit = f.Date(required=True, allow_none=True)
    leaders = f.List(f.String(), required=True)
    paired = f.List(f.String(), required=True)


class CoverageOut(Out):
    unit_id = f.Integer(required=True)
    months = f.Integer(required=True)
    units = f.List(f.Nested(CoverageRowOut), required=True)
    unvisited = f.List(f.Integer(), required=True)


class TemplateOut(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)
    version = f.Integer(required=True, metadata={"description": "模板（标准）的版本号"})
    family = f.String(required=True)
    status = f.String(required=True, metadata={"enum": ["draft", "published"]})
    description = f.String(required=True, allow_none=True)


class AppliedOut(Out):
    ids = f.List(f.Integer(), required=True)


class ChecklistItemOut(Out):
    id = f.Integer(required=True)
    unit_id = f.Integer(required=True)
    template_id = f.Integer(required=True)
    family = f.String(required=True)
    due = f.Date(required=True, allow_none=True)
    compliance = f.Float(required=True)


class ChecklistListOut(Out):
    items = f.List(f.Nested(ChecklistItemOut), required=True)


class EntryOut(Out):
    id = f.Integer(required=True)
    code = f.String(required=True)
    title = f.String(required=True)
    section = f.String(required=True)
    status = f.String(required=True, metadata={"enum": ["missing", "claimed", "verified", "rejected"]})
    weight = f.Float(required=True)
    evidence_required = f.Boolean(required=True)
    evidence = f.Integer(required=True, metadata={"description": "佐证材料件数"})
    due = f.Date(required=True, allow_none=True)
    comment = f.String(required=True, allow_none=True)
    version = f.Integer(required=True, metadata={"description": "检查项的乐观锁版本：修改时原样带回"})


class ChecklistOut(Out):
    id = f.Integer(required=True)
    unit_id = f.Integer(required=True)
    template_id = f.Integer(required=True)
    family = f.String(required=True)
    version = f.Integer(required=True, metadata={"description": "所用模板（标准）的版本号"})
    due = f.Date(required=True, allow_none=True)
    is_current = f.Boolean(required=True)
    compliance = f.Float(required=True, metadata={"description": "达标率 0 到 1（已核验权重 ÷ 总权重）"})
    entries = f.List(f.Nested(EntryOut), required=True)


class EntrySavedOut(EntryOut):
    checklist_id = f.Integer(required=True)
    compliance = f.Float(required=True)


class NotificationOut(Out):
    id = f.Integer(required=True)
    kind = f.String(required=True)
    subject_type = f.String(required=True)
    subject_id = f.Integer(required=True)
    message = f.String(required=True)
    created_at = f.DateTime(required=True)
    read_at = f.DateTime(required=True, allow_none=True)


class NotificationPageOut(Out):
    items = f.List(f.Nested(NotificationOut), required=True)
    unread = f.Integer(required=True)
    page = f.Integer(required=True)
    per_page = f.Integer(required=True)


class NotificationReadOut(Out):
    id = f.Integer(required=True)
    read_at = f.DateTime(required=True, allow_none=True)


class _DashboardCounts(Out):
    """The figures a roll-up node and the totals share."""

    total = f.Integer(required=True)
    closed = f.Integer(required=True)
    on_time = f.Integer(required=True)
    overdue = f.Integer(required=True)
    on_time_rate = f.Float(required=True, **_NUM)
    red = f.Integer(required=True)
    yellow = f.Integer(required=True)
    green = f.Integer(required=True)
    rectifications_open = f.Integer(required=True)
    checklist_compliance = f.Float(required=True, **_NUM)
    visits = f.Integer(required=True)


class DashboardTotalsSchema(_DashboardCounts):
    component = True

    grey = f.Integer(required=True)
    rectifications = f.Integer(required=True)
    rectification_closure_rate = f.Float(required=True, **_NUM)
    checklists = f.Integer(required=True)


class DashboardChildSchema(_DashboardCounts):
    component = True

    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    level = f.String(required=True)


class DashboardFiltersOut(Out):
    project = f.Integer(required=True, allow_none=True)
    category = f.Integer(required=True, allow_none=True)
    from_ = f.Date(required=True, allow_none=True, data_key="from")
    to = f.Date(required=True, allow_none=True)
    visits_from = f.Date(required=True)
    visits_to = f.Date(required=True)


class DashboardOut(Out):
    unit_id = f.Integer(required=True)
    name = f.String(required=True)
    as_of = f.Date(required=True)
    filters = f.Nested(DashboardFiltersOut, required=True)
    totals = f.Nested(DashboardTotalsSchema, required=True)
    children = f.List(f.Nested(DashboardChildSchema), required=True)


class RankRowSchema(Out):
    component = True

    rank = f.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "名次（成绩相同名次相同）；本月没有可比事项为 null"},
    )
    unit_id = f.Integer(required=True)
    unit = f.String(required=True)
    total = f.Integer(required=True)
    closed = f.Integer(required=True)
    on_time = f.Integer(required=True)
    overdue = f.Integer(required=True)
    on_time_rate = f.Float(required=True, **_NUM)
    rectifications = f.Integer(required=True)
    rectifications_closed = f.Integer(required=True)
    rectification_closure_rate = f.Float(required=True, **_NUM)
    checklist_compliance = f.Float(required=True, **_NUM)
    previous_rank = f.Integer(required=True, allow_none=True)
    change = f.Integer(required=True, allow_none=True, metadata={"description": "较上月名次变化，正数为上升"})


class RedListOut(Out):
    assignment_id = f.Integer(required=True)
    title = f.String(required=True)
    unit = f.String(required=True)
    deadline = f.String(required=True, metadata={"format": "date"})  # rankings.red_list writes it as text
    days = f.Integer(required=True)


class RankingsOut(Out):
    level = f.String(required=True)
    period = f.String(required=True)
    by = f.String(required=True)
    as_of = f.Date(required=True)
    unit_id = f.Integer(required=True)
    rankings = f.List(f.Nested(RankRowSchema), required=True)
    red_list = f.List(f.Nested(RedListOut), required=True)


# ---------------------------------------------------------------- search (issue 15)


class SearchHitOut(Out):
    kind = f.String(
        required=True,
        metadata={"description": "task、report、visit、finding、rectification、circular 或 unit"},
    )
    kind_label = f.String(required=True)
    id = f.Integer(
        required=True, metadata={"description": "该对象的 id（进度反馈、整改事项：承办事项的 id）"}
    )
    title = f.String(required=True)
    snippet = f.String(required=True, metadata={"description": "正文中匹配处前后的文字（纯文本）"})
    url = f.String(required=True, metadata={"description": "该对象的页面"})


class SearchPageOut(Out):
    q = f.String(required=True)
    items = f.List(f.Nested(SearchHitOut), required=True)
    counts = f.Dict(
        keys=f.String(), values=f.Integer(), required=True, metadata={"description": "每类的结果数"}
    )
    total = f.Integer(required=True)
    page = f.Integer(required=True)
    per_page = f.Integer(required=True)
    window = f.Integer(
        allow_none=True,
        metadata={
            "description": "结果较多时只在最近更新的这么多条匹配中计数和排序（counts、total 为下限）；否则 null"
        },
    )
