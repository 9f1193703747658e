from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import BaseForm, VersionedForm
from app.org.forms import MultiCheckboxField
from app.tasks.models import DEADLINE_KINDS, PRIORITIES, RECURRENCES


class ProjectForm(VersionedForm):
    name = StringField("项目名称", validators=[DataRequired("请填写项目名称。"), Length(max=100)])
    owner_unit_id = SelectField("所属单位", coerce=int)
    start = DateField("开始日期", validators=[DataRequired("请填写开始日期（格式 2026-01-01）。")])
    end = DateField("结束日期", validators=[DataRequired("请填写结束日期（格式 2026-12-31）。")])
    description = TextAreaField("项目说明", validators=[Optional(), Length(max=5000)])


class TaskForm(VersionedForm):
    title = StringField("任务名称", validators=[DataRequired("请填写任务名称。"), Length(max=200)])
    requirements = TextAreaField("工作要求", validators=[Optional(), Length(max=5000)])
    category_id = SelectField("类别", coerce=int, validators=[Optional()])
    lead_leader = StringField("牵头领导", validators=[Optional(), Length(max=50)])
    cooperator_ids = SelectMultipleField("配合单位", coerce=int, validators=[Optional()])
    priority = SelectField("优先级", choices=dict(PRIORITIES), default="normal")
    deadline_kind = SelectField("完成时限类型", choices=dict(DEADLINE_KINDS), default="date")
    deadline = DateField("完成时限", validators=[Optional()])
    recurrence = SelectField("周期", choices={"": "（不适用）", **RECURRENCES}, validators=[Optional()])
    report_every = SelectField(
        "报送周期（长期坚持）", choices={"": "（不适用）", **RECURRENCES}, validators=[Optional()]
    )
    notes = TextAreaField("备注", validators=[Optional(), Length(max=2000)])
    unit_ids = MultiCheckboxField("交办给（责任单位）", coerce=int, validators=[Optional()])


class AssignForm(VersionedForm):
    unit_ids = MultiCheckboxField("责任单位", coerce=int)


class ReportForm(VersionedForm):
    text = TextAreaField("进展情况", validators=[DataRequired("请填写进展情况。"), Length(max=5000)])
    percent = IntegerField(
        "完成百分比", validators=[Optional(), NumberRange(0, 100, "完成百分比须在 0 到 100 之间。")]
    )
    files = MultipleFileField("佐证材料（照片、PDF、Word、Excel）")
    submit_for_review = BooleanField("已完成，提交审核")


REVIEW_CHOICES = {"": "请选择审核结论", "approve": "办结", "return": "退回"}
RECTIFICATION_REVIEW_CHOICES = {"": "请选择审核结论", "approve": "销号", "return": "退回"}


class ReviewForm(VersionedForm):
    """No conclusion is preselected: 办结 (销号) cannot be undone, so the reviewer picks it."""

    decision = SelectField(
        "审核结论",
        choices=REVIEW_CHOICES,
        default="",
        validators=[DataRequired("请选择审核结论：办结（销号）或退回。")],
    )
    comment = TextAreaField("意见 / 退回理由", validators=[Optional(), Length(max=2000)])


class ExtensionForm(VersionedForm):
    new_deadline = DateField("申请延至", validators=[InputRequired("请填写新的完成时限。")])
    reason = TextAreaField("延期理由", validators=[DataRequired("请填写延期理由。"), Length(max=2000)])


class DecideExtensionForm(VersionedForm):
    decision = SelectField("审批", choices={"grant": "同意延期", "refuse": "不同意"})
    comment = TextAreaField("审批意见", validators=[Optional(), Length(max=2000)])


class StepForm(VersionedForm):
    kind = SelectField("类型", choices={"milestone": "里程碑", "check": "检查项"})
    title = StringField("内容", validators=[DataRequired("请填写内容。"), Length(max=200)])
    due = DateField("日期", validators=[Optional()])


class SplitForm(VersionedForm):
    unit_ids = MultiCheckboxField("分解给下级单位", coerce=int)
    # Posted by the confirmation shown when a chosen unit already holds the item.
    confirm = BooleanField("仍要分解")


class CompletionReviewForm(BaseForm):
    unit_id = IntegerField(validators=[InputRequired()])
    decision = SelectField("审核结论", choices={"confirmed": "审核确认", "returned": "退回"})
    comment = TextAreaField("审核意见", validators=[Optional(), Length(max=2000)])


class BulkForm(BaseForm):
    """Each row posts its assignment's version as `version-<id>` (for 延期)."""

    action = SelectField("批量操作", choices={"remind": "催办", "extend": "延期"})
    ids = SelectMultipleField("勾选的事项", coerce=int, validate_choice=False)
    message = StringField("催办说明 / 延期理由", validators=[Optional(), Length(max=500)])
    new_deadline = DateField("新的完成时限", validators=[Optional()])


class CategoryForm(BaseForm):
    name = StringField("类别名称", validators=[DataRequired("请填写类别名称。"), Length(max=30)])


class LinkForm(BaseForm):
    """Link this item to another item of its project (the page offers them in a list)."""

    kind = SelectField(
        "关联类型",
        choices={"depends": "依赖于（前置事项）", "related": "相关"},
        default="depends",
    )
    other_id = IntegerField("关联事项", validators=[InputRequired("请选择要关联的事项。")])
