"""Forms of the checklist pages, and the outline a new template's items can be pasted as."""

from __future__ import annotations

import re

from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.forms import BaseForm, VersionedForm
from app.org.forms import MultiCheckboxField

OUTLINE_HELP = (
    "可选。每行一项，列之间用 Tab（可直接从 Excel 粘贴）或竖线“|”分隔："
    "编号 | 检查项 | 权重 | 须佐证（是/否）| 期限天数 | 填报说明；"
    "没有分隔符的一行是分组名称。"
)
YES = {"是", "须", "需", "要", "y", "yes", "1", "true", "佐证", "须佐证", "√", "✓"}


class TemplateForm(BaseForm):
    family = StringField(
        "标准代码",
        validators=[DataRequired("请填写标准代码。"), Length(max=50)],
        description="同一标准的各个版本共用一个代码（字母或数字，如 wuhua）；已存在的代码将新建为其下一版本。",
    )
    name = StringField("模板名称", validators=[DataRequired("请填写模板名称。"), Length(max=100)])
    description = TextAreaField("说明", validators=[Optional(), Length(max=5000)])
    # No Optional(): the inline validator must run (and set `sections`) even when empty.
    outline = TextAreaField("检查项（批量粘贴）", validators=[Length(max=50000)], description=OUTLINE_HELP)

    def validate_outline(self, field) -> None:
        self.sections = parse_outline(field.data or "")


def _bool(text: str) -> bool:
    return text.strip().lower() in YES


def parse_outline(text: str) -> list[dict]:
    """Sections and items from pasted lines; a bad line is reported by its number."""
    sections: list[dict] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        cells = [c.strip() for c in re.split(r"\t|\||｜", raw)]
        if len(cells) == 1:
            sections.append({"title": line, "items": []})
            continue
        cells += [""] * (6 - len(cells))
        code, title, weight, evidence, days, guidance = cells[:6]
        try:
            item = {
                "code": code,
                "title": title,
                "weight": float(weight) if weight else 1.0,
                "evidence_required": _bool(evidence),
                "due_offset_days": int(days) if days else None,
                "guidance": guidance or None,
            }
        except ValueError:
            raise ValidationError(f"第 {number} 行：权重须为数字，期限天数须为整数。") from None
        if not code or not title:
            raise ValidationError(f"第 {number} 行：须填写编号和检查项。")
        if not sections:
            sections.append({"title": "检查项", "items": []})
        sections[-1]["items"].append(item)
    return sections


class SectionForm(BaseForm):
    title = StringField("分组名称", validators=[DataRequired("请填写分组名称。"), Length(max=100)])


class ItemForm(BaseForm):
    section_id = SelectField("所属分组", coerce=int, validators=[InputRequired("请选择所属分组。")])
    code = StringField("编号", validators=[DataRequired("请填写编号。"), Length(max=20)])
    title = StringField("检查项", validators=[DataRequired("请填写检查项。"), Length(max=200)])
    guidance = TextAreaField("填报说明", validators=[Optional(), Length(max=2000)])
    weight = FloatField(
        "权重",
        default=1.0,
        validators=[InputRequired("请填写权重。"), NumberRange(0.01, 100, "权重须大于 0、不超过 100。")],
    )
    evidence_required = BooleanField("须上传佐证材料")
    due_offset_days = IntegerField(
        "期限（应用后天数）",
        validators=[Optional(), NumberRange(0, 3650, "期限天数须在 0 到 3650 之间。")],
    )
    due_date = DateField("或固定期限", validators=[Optional()])


class ApplyForm(BaseForm):
    template_id = SelectField("模板", coerce=int, validators=[InputRequired("请选择模板。")])
    under_id = SelectField(
        "快捷选择：某单位下的全部人民法庭",
        coerce=int,
        default=0,
        description="选择后，该单位下的全部人民法庭与下方勾选的单位一并应用。",
    )
    unit_ids = MultiCheckboxField("应用到（下级单位）", coerce=int, validators=[Optional()])
    due = DateField("完成期限", validators=[InputRequired("请填写完成期限（格式 2026-12-31）。")])
    reapply = BooleanField("重新应用：已应用旧版本的单位改用此版本（沿用编号相同的已核验项）")


class ClaimForm(VersionedForm):
    comment = TextAreaField("完成情况说明", validators=[Optional(), Length(max=2000)])


class VerifyForm(VersionedForm):
    decision = SelectField("核验结论", choices={"verified": "核验通过", "rejected": "驳回"})
    comment = TextAreaField("意见 / 驳回理由", validators=[Optional(), Length(max=2000)])
