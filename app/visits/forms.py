"""Visit forms and the choices they offer (each list already limited to what the
policy and the services will accept, so a bad pick is refused before any write)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app import authz
from app.extensions import db
from app.forms import BaseForm, VersionedForm
from app.org.forms import MultiCheckboxField
from app.org.models import LEVEL_RANK, Unit, UnitClosure, User, UserRole
from app.org.queries import subtree_units, unit_choices
from app.visits.models import KIND_NAME_MAX, Visit, VisitKind

ORGANIZER_LEVELS = ("high", "intermediate", "base")  # a tribunal has nobody below it to visit


class CheckedChoices(MultiCheckboxField):
    """Checkboxes whose refusal of an unknown value says what was wrong, in Chinese."""

    def __init__(self, label: str, invalid: str, **kw: Any):
        super().__init__(label, coerce=int, validators=[Optional()], **kw)
        self.invalid = invalid

    def pre_validate(self, form: Any) -> None:
        if any(value not in (self.choices or {}) for value in self.data or []):
            raise ValidationError(self.invalid)


class VisitForm(BaseForm):
    kind_id = SelectField("走访类型", coerce=int)
    organizer_unit_id = SelectField("组织单位", coerce=int)
    title = StringField("走访主题", validators=[DataRequired("请填写走访主题。"), Length(max=200)])
    leader_ids = CheckedChoices("带队领导", "所选带队领导须为组织单位或其上级单位的院领导。")
    target_ids = CheckedChoices("走访对象单位", "所选走访对象单位不在组织单位的下级范围内，不能走访。")
    team = StringField(
        "参加人员",
        validators=[Optional(), Length(max=500)],
        description="带队领导以外的组员姓名，用顿号分隔。",
    )
    planned_start = DateField(
        "计划开始日期", validators=[InputRequired("请填写计划开始日期（格式 2026-01-01）。")]
    )
    planned_end = DateField(
        "计划结束日期",
        validators=[InputRequired("请填写计划结束日期（格式 2026-01-01）。")],
        description="当天往返的走访与开始日期相同；蹲点可跨多日。",
    )
    topics = TextAreaField("调研内容", validators=[Optional(), Length(max=5000)])

    def target_groups(self) -> list[tuple[Any, list[Any]]]:
        """The target checkboxes, each unit directly below the organiser with its own below it."""
        groups: list[tuple[Any, list[Any]]] = []
        for option in self.target_ids:
            text = option.label.text
            if not groups or not text.startswith("\u3000"):
                groups.append((option, []))
            else:
                groups[-1][1].append(option)
        return groups


class RecordForm(VersionedForm):
    actual_start = DateField(
        "实际开始日期", validators=[InputRequired("请填写实际开始日期（格式 2026-01-01）。")]
    )
    actual_end = DateField(
        "实际结束日期", validators=[InputRequired("请填写实际结束日期（格式 2026-01-01）。")]
    )
    team = StringField("参加人员", validators=[Optional(), Length(max=500)])
    topics = TextAreaField("调研内容", validators=[Optional(), Length(max=5000)])
    summary = TextAreaField("走访情况", validators=[DataRequired("请填写走访情况。"), Length(max=10000)])
    suggestions = TextAreaField("意见建议", validators=[Optional(), Length(max=5000)])
    solved_on_spot = TextAreaField(
        "现场解决的问题（帮助解决“急难愁盼”问题）", validators=[Optional(), Length(max=5000)]
    )

    def fill_from(self, visit: Visit) -> None:
        """First display: what was recorded so far, or the plan."""
        for name in ("team", "topics", "summary", "suggestions", "solved_on_spot"):
            getattr(self, name).data = getattr(visit, name)
        self.actual_start.data = visit.actual_start or visit.planned_start
        self.actual_end.data = visit.actual_end or visit.planned_end
        self.version.data = visit.version


class FindingForm(BaseForm):
    unit_id = SelectField("问题所在单位", coerce=int)
    description = TextAreaField(
        "发现的问题", validators=[DataRequired("请填写发现的问题。"), Length(max=2000)]
    )
    deadline = DateField("整改时限", validators=[InputRequired("请填写整改时限（格式 2026-01-01）。")])
    verifier_id = SelectField("核验人（销号）", coerce=int)

    def fill_choices(self, visit: Visit) -> None:
        self.unit_id.choices = {t.unit_id: t.unit.name for t in visit.targets}
        self.verifier_id.choices = {v.user_id: v.user.display_name for v in visit.leaders}


class KindForm(BaseForm):
    """Add or rename a visit kind (the service refuses a name another kind has)."""

    name = StringField(
        "走访类型名称",
        validators=[
            DataRequired("请填写走访类型名称。"),
            Length(max=KIND_NAME_MAX, message=f"走访类型名称不能超过 {KIND_NAME_MAX} 个字。"),
        ],
    )


class PairingForm(BaseForm):
    leader_id = SelectField("院领导", coerce=int)
    unit_id = SelectField("联系单位", coerce=int)


# ---------------------------------------------------------------- choices


def kind_choices() -> dict[int, str]:
    rows = db.session.execute(
        select(VisitKind.id, VisitKind.name)
        .where(VisitKind.is_active.is_(True))
        .order_by(VisitKind.sort_order, VisitKind.id)
    )
    return dict(rows.all())


def organizer_choices(user: Any) -> dict[int, str]:
    """Units in the user's scope that have units below them."""
    return unit_choices(user, levels=ORGANIZER_LEVELS)


def target_choices(user: Any, organizer_id: int) -> dict[int, str]:
    """Active units strictly below the organiser, in tree order (indented)."""
    return {
        r.unit.id: "\u3000" * max(r.depth - 1, 0) + r.unit.name
        for r in subtree_units(user, root_id=organizer_id, include_inactive=False)
        if r.unit.id != organizer_id
    }


def _leaders(*where: Any, own_level_first: bool = False) -> dict[int, str]:
    rank = case(LEVEL_RANK, value=Unit.level)
    stmt = (
        select(User.id, User.display_name, Unit.name)
        .join(Unit, Unit.id == User.unit_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "leader", User.active.is_(True), *where)
        .order_by(rank.desc() if own_level_first else rank, Unit.id, User.display_name, User.id)
    )
    return {uid: f"{name}（{unit}）" for uid, name, unit in db.session.execute(stmt).all()}


def leader_choices(organizer_id: int) -> dict[int, str]:
    """Active leaders of the organiser's unit and of the units above it."""
    above = select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == organizer_id)
    return _leaders(User.unit_id.in_(above), own_level_first=True)


def pairing_leader_choices(user: Any) -> dict[int, str]:
    """Active leaders the user may pair: in the user's scope or in the units above."""
    return _leaders(
        or_(User.unit_id.in_(authz.scope_unit_ids(user)), User.unit_id.in_(authz.ancestor_unit_ids(user)))
    )


def pairing_unit_choices(user: Any) -> dict[int, str]:
    """Units whose 联系领导 the user may set (the policy decides, unit by unit)."""
    return {
        r.unit.id: "\u3000" * max(r.depth - 1, 0) + r.unit.name
        for r in subtree_units(user, include_inactive=False)
        if authz.can(user, "pairing.manage", r.unit)
    }
