"""sweep digests: one reminder per (rule, item, period) in sweep_marks, one notification
per person and rule listing the items (issue 11)

Revision ID: 0009_sweep_digest
Revises: 0008_tallies
Create Date: 2026-12-06 07:30:00

The reminders already sent one notification per item and recipient are copied into
sweep_marks (one row per rule, item and period, read back from their dedupe keys
"r<rule>:<type>:<id>:<period>"), so that the first digest sweep neither repeats an
escalation already made nor an overdue reminder of the last three days.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_sweep_digest"
down_revision = "0008_tallies"
branch_labels = None
depends_on = None

PREFIX = (
    "'r' || CAST(rule_id AS VARCHAR(20)) || ':' || subject_type || ':' "
    "|| CAST(subject_id AS VARCHAR(20)) || ':'"
)
# The reminders sent before: one mark per rule, item and period (the key's last part).
BACKFILL = f"""
    INSERT INTO sweep_marks (rule_id, subject_type, subject_id, period, day)
    SELECT rule_id, subject_type, subject_id, period, MIN(day)
    FROM (
        SELECT rule_id, subject_type, subject_id, day,
               substr(dedupe_key, length({PREFIX}) + 1) AS period
        FROM notifications
        WHERE rule_id IS NOT NULL AND day IS NOT NULL
          AND substr(dedupe_key, 1, length({PREFIX})) = {PREFIX}
    ) AS sent
    WHERE length(period) BETWEEN 1 AND 12
    GROUP BY rule_id, subject_type, subject_id, period
"""


def upgrade():
    op.create_table(
        "sweep_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["reminder_rules.id"], name=op.f("fk_sweep_marks_rule_id_reminder_rules")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["sweep_runs.id"], name=op.f("fk_sweep_marks_run_id_sweep_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_marks")),
        sa.UniqueConstraint(
            "rule_id", "subject_type", "subject_id", "period", name=op.f("uq_sweep_marks_rule_id")
        ),
    )
    with op.batch_alter_table("sweep_marks", schema=None) as batch_op:
        batch_op.create_index("ix_sweep_marks_rule_day", ["rule_id", "day"], unique=False)

    op.create_table(
        "sweep_digests",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(length=15), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_sweep_digests_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_sweep_digests")),
    )

    op.execute(BACKFILL)


def downgrade():
    op.drop_table("sweep_digests")
    with op.batch_alter_table("sweep_marks", schema=None) as batch_op:
        batch_op.drop_index("ix_sweep_marks_rule_day")
    op.drop_table("sweep_marks")
