"""Case-quality indicators (审判质效指标): the catalogue per year, the monthly values each
court reports for itself, the 预警 episodes, and the assessment periods with their
frozen results and meeting records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit, User

KINDS = {"rate": "比率", "value": "数值"}
AGGREGATES = {"ratio": "Σ分子 ÷ Σ分母", "sum": "求和", "mean": "加权平均"}
DIRECTIONS = {"higher": "越高越好", "lower": "越低越好", "within": "区间内为好"}
LEVELS = {"high": "高级法院", "intermediate": "中级法院", "base": "基层法院", "tribunal": "人民法庭"}
SOURCES = {"form": "表单录入", "import": "表格导入", "api": "接口报送", "demo": "演示数据"}


class Indicator(db.Model):
    """One indicator of one year's catalogue. A rate is kept as numerator/denominator
    (shown as a percentage); a value is a number of 件 (summed up the tree) or an
    average such as 天 (weighted up the tree by its stored weight)."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("year", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # rate / value
    aggregate: Mapped[str] = mapped_column(String(10))  # ratio (rates) / sum / mean
    unit_label: Mapped[str] = mapped_column(String(10))  # % / 件 / 天
    weight_label: Mapped[str | None] = mapped_column(String(30))  # mean: what the weight counts (结案数)
    direction: Mapped[str] = mapped_column(String(10))
    interval_low: Mapped[float | None] = mapped_column(Float)
    interval_high: Mapped[float | None] = mapped_column(Float)
    interval_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # False: an example value
    levels: Mapped[list] = mapped_column(JSON)  # the unit levels that report it
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    is_key: Mapped[bool] = mapped_column(Boolean, default=True)  # shown on the dashboard and the wall
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def has_interval(self) -> bool:
        return self.interval_low is not None or self.interval_high is not None

    @property
    def interval_text(self) -> str:
        if not self.has_interval:
            return "—"
        u = self.unit_label
        low, high = self.interval_low, self.interval_high
        if low is not None and high is not None:
            return f"{_num(low)}{u}～{_num(high)}{u}"
        return f"≥{_num(low)}{u}" if low is not None else f"≤{_num(high)}{u}"


def _num(x: float) -> str:
    return f"{x:g}"


class IndicatorValue(db.Model):
    """What one court reported for itself (本院) for one indicator and month; roll-ups
    over a subtree are computed from these, never stored."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        UniqueConstraint("indicator_id", "unit_id", "month"),
        Index("ix_indicator_values_month_unit", "month", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)  # mean: the count the average is over
    source: Mapped[str] = mapped_column(String(10))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class IndicatorWarning(db.Model):
    """A 预警 episode: an indicator of a court outside its interval for N months running
    (N from the reminder rule). Raised once; `last_month` follows the episode while it
    lasts, and a month back inside the interval ends it."""

    __tablename__ = "indicator_warnings"
    __table_args__ = (UniqueConstraint("indicator_id", "unit_id", "first_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    first_month: Mapped[str] = mapped_column(String(7))
    last_month: Mapped[str] = mapped_column(String(7))
    months: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime]
    ended_month: Mapped[str | None] = mapped_column(String(7))

    indicator: Mapped[Indicator] = relationship()


PERIOD_KINDS = {"month": "月度", "quarter": "季度", "half": "半年", "year": "年度"}
MEETING_KINDS = {"month": "月分析会", "quarter": "季度会商", "half": "半年初评", "year": "年终总评"}
ASSESSMENT_STATUSES = {"open": "已开启", "computed": "已计算待审", "published": "已发布"}
COMPONENTS = {
    "on_time": "事项按期完成率",
    "rect_closure": "整改销号率",
    "checklist": "检查清单达标率",
    "indicator_compliance": "质效指标达标率",
    "indicator_score": "质效指标综合得分",
}


class Assessment(db.Model):
    """An assessment period (月/季/半年/年) of one court over the courts of one level
    below it, with its scoring scheme (weights over COMPONENTS)."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the assessing court
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)  # month 1–12, quarter 1–4, half 1–2, year 1
    level: Mapped[str] = mapped_column(String(20))  # the level of the courts assessed
    title: Mapped[str] = mapped_column(String(120))
    scheme: Mapped[dict] = mapped_column(JSON)  # {component: weight}
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_version: Mapped[int | None] = mapped_column(Integer)
    circular_id: Mapped[int | None] = mapped_column(ForeignKey("circulars.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    runs: Mapped[list[AssessmentRun]] = relationship(
        back_populates="assessment", order_by="AssessmentRun.number", cascade="all, delete-orphan"
    )


class AssessmentRun(db.Model):
    """One computation of an assessment's scores: frozen rows, never updated. A
    recomputation is a new run with who and why."""

    __tablename__ = "assessment_runs"
    __table_args__ = (UniqueConstraint("assessment_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    number: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    scheme: Mapped[dict] = mapped_column(JSON)
    rows: Mapped[list] = mapped_column(JSON)  # [{unit_id, name, components{}, score, rank}]

    assessment: Mapped[Assessment] = relationship(back_populates="runs")


class AssessmentRead(db.Model):
    """One person of an assessed court, told when the results were published, and when they
    first opened them (as the month-end circular's receipts); a new published version
    asks them to read again."""

    __tablename__ = "assessment_reads"
    __table_args__ = (UniqueConstraint("assessment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the person's court when published
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    unit: Mapped[Unit] = relationship()


class Meeting(db.Model):
    """The meeting of a period (月分析会/季度会商/半年初评/年终总评): what it looked at (a
    published assessment), what it found and what it decided."""

    __tablename__ = "assessment_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text)
    analysis: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    assessment: Mapped[Assessment] = relationship()
    decisions: Mapped[list[MeetingDecision]] = relationship(
        back_populates="meeting", order_by="MeetingDecision.number", cascade="all, delete-orphan"
    )


class MeetingDecision(db.Model):
    """一项议定事项; once turned into an item (交办), linked to its task both ways."""

    __tablename__ = "meeting_decisions"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("assessment_meetings.id"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), unique=True)

    meeting: Mapped[Meeting] = relationship(back_populates="decisions")
