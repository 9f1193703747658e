"""What each endpoint accepts: its query string, JSON body or form, as marshmallow schemas
(unknown fields refused, see app.api.core.Schema). They validate the request and, through
flask-smorest, are the document's parameters and request bodies.

Limits follow the database columns and the services' own checks (the same the WTForms
forms apply): e.g. a task title 200 characters, a report 5000, a visit summary 10000."""

from __future__ import annotations

from marshmallow import fields as f

from app.api.core import Schema
from app.api.fields import (
    ID_MAX,
    Choice,
    Day,
    File,
    Files,
    Flag,
    Id,
    IdList,
    Int,
    Kind,
    Period,
    Secret,
    Text,
    Version,
)
from app.search.documents import KINDS as SEARCH_KINDS
from app.tasks.models import STATUSES

PAGE_MAX = 100_000
ASSIGNMENT_FILTERS = ("open", "overdue", "due_soon", *STATUSES)
IMPORT_ROWS_MAX = 5000

# ---------------------------------------------------------------- inputs: auth, units, projects, tasks


class TokenIn(Schema):
    username = Text(required=True, max_length=50, blank=False, metadata={"description": "用户名"})
    password = Secret(required=True)
    otp = Text(
        max_length=64,
        allow_none=True,
        metadata={"description": "已启用双因素认证的账号：6 位动态验证码，或一个恢复码"},
    )


class EmptyQuery(Schema):
    """No parameters: an unknown one is refused rather than ignored."""


class UnitsQuery(Schema):
    under = Id(metadata={"description": "子树根单位 id，默认本单位"})


class ProjectIn(Schema):
    name = Text(required=True, max_length=100, blank=False)
    owner_unit_id = Id(required=True)
    start = Day(required=True)
    end = Day(required=True)
    description = Text(max_length=5000, allow_none=True)


class TaskIn(Schema):
    project_id = Id(required=True)
    title = Text(required=True, max_length=200, blank=False)
    requirements = Text(max_length=5000, allow_none=True)
    lead_leader = Text(max_length=50, allow_none=True)
    deadline = Text(
        required=True,
        max_length=50,
        blank=False,
        metadata={
            "hint": "YYYY-MM-DD，或“长期坚持”“每月”“每季度”“每半年”",
            "description": "完成时限：YYYY-MM-DD，或 长期坚持 / 每月 / 每季度 / 每半年"
            "（也接受任务清单里的写法，如“2026年10月31日”“12月底前”）",
            "example": "2026-12-31",
        },
    )
    unit_ids = IdList(what="单位", metadata={"description": "交办给的单位 id（本单位的下级）"})


class AssignmentFiltersQuery(Schema):
    """The filters of the assignment list: the list and its export take exactly these."""

    status = Choice(ASSIGNMENT_FILTERS)
    unit = Id(metadata={"description": "单位子树"})
    project = Id()
    date_from = Day(data_key="from", metadata={"description": "完成时限起（含）"})
    date_to = Day(data_key="to", metadata={"description": "完成时限止（含）"})


class AssignmentsQuery(AssignmentFiltersQuery):
    page = Int(minimum=1, maximum=PAGE_MAX, load_default=1)
    per_page = Int(minimum=1, maximum=500, load_default=100)


HISTORY_PER_PAGE_MAX = 200


class AssignmentDetailQuery(Schema):
    history_page = Int(
        minimum=1, maximum=PAGE_MAX, load_default=1, metadata={"description": "办理记录的页码，默认 1"}
    )
    history_per_page = Int(
        minimum=1,
        maximum=HISTORY_PER_PAGE_MAX,
        load_default=50,
        metadata={"description": f"办理记录每页条数，默认 50，最多 {HISTORY_PER_PAGE_MAX}"},
    )


class VersionIn(Schema):
    version = Version()


class ProgressForm(Schema):
    text = Text(
        required=True, max_length=5000, blank=False, error_messages={"blank": "不能为空：请填写进展情况。"}
    )
    percent = Int(minimum=0, maximum=100, error_messages={"invalid": "须为 0 到 100 之间的整数。"})
    submit = Flag(load_default=False, metadata={"description": "true（或 1）：同时提交审核"})
    files = Files()
    version = Version()


class ReviewIn(Schema):
    decision = Choice(("approve", "return"), required=True)
    comment = Text(max_length=2000, allow_none=True)
    version = Version()


class ExtensionIn(Schema):
    new_deadline = Day(required=True)
    reason = Text(required=True, max_length=2000, blank=False)
    version = Version()


class CompletionQuery(Schema):
    unit = Id(metadata={"description": "单位，默认本单位"})
    project = Id()
    date_from = Day(data_key="from")
    date_to = Day(data_key="to")


class ImportForm(Schema):
    project_id = Id(required=True)
    file = File(required=True, metadata={"description": "任务清单（.xlsx 或 .csv）"})


class ImportCommitIn(Schema):
    exclude_rows = f.List(
        Int(minimum=1, maximum=ID_MAX),
        load_default=list,
        validate=lambda v: len(v) <= IMPORT_ROWS_MAX,
        error_messages={
            "invalid": "须为整数数组。",
            "item_invalid": "须为整数数组（行号）。",
            "validator_failed": f"最多 {IMPORT_ROWS_MAX} 行。",
        },
        metadata={"maxItems": IMPORT_ROWS_MAX},
    )


# ---------------------------------------------------------------- inputs: visits, checklists, dashboards


class VisitIn(Schema):
    kind = Kind(required=True, metadata={"hint": "走访类型名称，如“蹲点指导”，或其 id"})
    organizer_unit_id = Id(required=True)
    target_unit_ids = IdList(required=True, what="单位", metadata={"hint": "走访对象单位 id 数组"})
    start = Day(required=True)
    end = Day(required=True)
    leader_ids = IdList(required=True, what="带队领导", metadata={"hint": "带队领导的用户 id 数组"})
    summary = Text(max_length=10000, allow_none=True)
    title = Text(max_length=200, allow_none=True, metadata={"description": "默认“走访类型：对象单位”"})
    topics = Text(max_length=5000, allow_none=True)
    team = Text(max_length=500, allow_none=True)
    suggestions = Text(max_length=5000, allow_none=True)
    solved_on_spot = Text(max_length=5000, allow_none=True)


class FindingIn(Schema):
    unit_id = Id(required=True)
    description = Text(required=True, max_length=2000, blank=False)
    deadline = Day(required=True)
    verifier_id = Id(allow_none=True, metadata={"description": "核验人，须为本次带队领导；默认本人或第一位"})


class RectificationForm(Schema):
    text = Text(
        required=True, max_length=5000, blank=False, error_messages={"blank": "不能为空：请填写进展情况。"}
    )
    files = Files()
    version = Version()


class VerifyIn(Schema):
    decision = Choice(
        ("close", "return"), required=True, error="只能是 close（核验销号）或 return（退回整改）。"
    )
    comment = Text(max_length=2000, allow_none=True)
    version = Version()


class CoverageQuery(Schema):
    unit = Id(metadata={"description": "根单位 id，默认本单位"})
    months = Int(minimum=1, maximum=60, load_default=6)


class ChecklistApplyIn(Schema):
    template_id = Id(required=True)
    unit_ids = IdList(required=True, what="单位")
    due = Day(required=True)
    reapply = Flag(
        load_default=False,
        metadata={"description": "已应用过该标准时改用此版本（沿用已核验的同编号检查项）"},
    )


class ChecklistsQuery(Schema):
    unit = Id(metadata={"description": "单位子树"})
    family = Text(max_length=50, metadata={"description": "标准编号"})


ENTRY_DECISION = "只能是 done（已完成，待核验）、verified（核验通过）或 rejected（驳回）。"


class EntryIn(Schema):
    status = Choice(("done", "verified", "rejected"), required=True, error=ENTRY_DECISION)
    comment = Text(max_length=2000, allow_none=True)
    version = Version()


class EntryForm(EntryIn):
    files = Files(metadata={"description": "佐证材料（仅 status=done 时）"})


class NotificationsQuery(Schema):
    unread = Flag(load_default=False, metadata={"description": "true（或 1）：只列未读"})
    page = Int(minimum=1, maximum=PAGE_MAX, load_default=1)
    per_page = Int(minimum=1, maximum=200, load_default=50)


class DashboardQuery(Schema):
    unit = Id(metadata={"description": "单位 ID，默认本单位"})
    project = Id(metadata={"description": "项目 ID"})
    category = Id(metadata={"description": "事项类别 ID"})
    date_from = Day(data_key="from", metadata={"description": "完成时限起（含）"})
    date_to = Day(data_key="to", metadata={"description": "完成时限止（含）"})


class RankingsQuery(Schema):
    level = Choice(("intermediate", "base"), load_default="intermediate")
    period = Period(metadata={"description": "YYYY-MM，默认本月"})
    by = Choice(
        ("rate", "overdue", "rect", "compliance"),
        load_default="rate",
        metadata={"description": "排名依据，默认 rate（按期完成率）"},
    )


# ---------------------------------------------------------------- search (issue 15)


class SearchQuery(Schema):
    q = Text(
        required=True,
        max_length=100,
        blank=False,
        metadata={"description": "要查找的文字（至少两个字，无需分词；多个词用空格隔开，须同时出现）"},
    )
    kind = Choice(
        tuple(SEARCH_KINDS),
        metadata={"description": "只查这一类：" + "、".join(f"{k}（{v}）" for k, v in SEARCH_KINDS.items())},
    )
    page = Int(minimum=1, maximum=PAGE_MAX, load_default=1)
    per_page = Int(minimum=1, maximum=50, load_default=20)
