"""Forms of the indicator pages."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import BaseForm
from app.indicators.models import AGGREGATES, DIRECTIONS, KINDS, LEVELS, PERIOD_KINDS
from app.org.forms import MultiCheckboxField


class IndicatorForm(BaseForm):
    code = StringField("代码", validators=[DataRequired("请填写代码。"), Length(max=40)])
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=100)])
    kind = SelectField("类型", choices=dict(KINDS))
    aggregate = SelectField("汇总方式", choices=dict(AGGREGATES))
    unit_label = StringField(
        "计量单位", validators=[Length(max=10)], description="比率固定为 %；数值如 件、天"
    )
    weight_label = StringField(
        "权数", validators=[Length(max=30)], description="加权平均时：权数是什么，如 结案数"
    )
    direction = SelectField("方向", choices=dict(DIRECTIONS))
    interval_low = FloatField("参考区间下限", validators=[Optional()])
    interval_high = FloatField("参考区间上限", validators=[Optional()])
    interval_confirmed = BooleanField("参考区间已由高院确认（不勾选：示例值）")
    levels = MultiCheckboxField("适用层级", choices=dict(LEVELS))
    weight = FloatField("权重", default=1.0, validators=[Optional()])
    is_key = BooleanField("重点指标（在工作概览和上墙显示）", default=True)
    sort_order = IntegerField("排序", default=0, validators=[Optional(), NumberRange(-100000, 100000)])
    description = TextAreaField("计算口径", validators=[Length(max=500)])
    version = HiddenField()


class CopyForm(BaseForm):
    from_year = IntegerField("从", validators=[DataRequired(), NumberRange(2000, 2100)])
    to_year = IntegerField("复制为", validators=[DataRequired(), NumberRange(2000, 2100)])


class ValuesForm(BaseForm):
    """The grid's CSRF token; the cells are read from the request (one per indicator)."""


class AssessmentForm(BaseForm):
    kind = SelectField("考评周期", choices=dict(PERIOD_KINDS))
    year = IntegerField(
        "年度",
        validators=[DataRequired("请填写年度。"), NumberRange(2000, 2100, "年度须在 2000–2100 之间。")],
    )
    number = IntegerField(
        "第几期",
        default=1,
        validators=[DataRequired("请填写期数。"), NumberRange(1, 12, "期数须在 1–12 之间。")],
        description="月：1–12；季：1–4；半年：1–2；年：1",
    )
    level = SelectField("考评对象", choices={"intermediate": "中级法院", "base": "基层法院"})
    w_on_time = FloatField("事项按期完成率", default=30, validators=[Optional()])
    w_rect_closure = FloatField("整改销号率", default=15, validators=[Optional()])
    w_checklist = FloatField("检查清单达标率", default=15, validators=[Optional()])
    w_indicator_compliance = FloatField("质效指标达标率", default=20, validators=[Optional()])
    w_indicator_score = FloatField("质效指标综合得分", default=20, validators=[Optional()])


class RecomputeForm(BaseForm):
    reason = TextAreaField("重新计算的理由", validators=[Length(max=500)])
    version = HiddenField()


class MeetingForm(BaseForm):
    held_on = DateField("会议日期", validators=[DataRequired("请填写会议日期。")])
    attendees = TextAreaField(
        "参会人员", validators=[DataRequired("请填写参会人员。"), Length(max=2000)], render_kw={"rows": 3}
    )
    analysis = TextAreaField(
        "分析研判", validators=[DataRequired("请填写分析内容。"), Length(max=20000)], render_kw={"rows": 8}
    )
    decisions = TextAreaField("议定事项（每行一项）", validators=[Length(max=10000)], render_kw={"rows": 5})
    version = HiddenField()
