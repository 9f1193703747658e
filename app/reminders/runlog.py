"""What a run of the reminder jobs did, said in Chinese: the run log page
(/admin/reminders/runs), the message after 立即运行 and the line `flask reminders run`
prints. A run's counts are stored as the jobs wrote them (`{"sent": 3, …}`); only their
wording lives here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.exports.xlsx import month_text

JOBS = {"sweep": "每日提醒", "digest": "每日汇总邮件", "weekly": "周报", "circular": "月末通报"}
JOBS["backup"] = "数据备份"  # app.backup: the nightly backup and `flask backup create`
TRIGGERS = {"scheduler": "定时", "cli": "命令行", "web": "网页"}

# Per job: counter → (what it counts, measure word), in the order they are shown. A
# measure word of "" marks a text (a reason, a month), shown as "label：text".
COUNTS: dict[str, dict[str, tuple[str, str]]] = {
    "sweep": {
        "due_soon": ("临期提醒", "项"),
        "overdue": ("逾期催办", "项"),
        "escalated": ("督办", "项"),
        "review_waiting": ("待审核提醒", "项"),
        "sent": ("发出汇总通知", "条"),
        "duplicates_skipped": ("已发过未重发", "条"),
        "items": ("含提醒", "条"),
        "indicator_warnings": ("质效预警", "项"),
        "skipped": ("未发送原因", ""),
    },
    "digest": {
        "sent": ("已发邮件", "封"),
        "failed": ("发送失败", "封"),
        "skipped": ("未发邮件", "封"),
        "skipped_reason": ("未发送原因", ""),
    },
    "weekly": {"units": ("涉及单位", "个"), "notified": ("发出通知", "条")},
    "circular": {"circulars": ("生成通报稿", "份"), "period": ("通报月份", "")},
    "backup": {
        "files": ("证据文件", "个"),
        "rows": ("数据库记录", "行"),
        "bytes": ("备份大小", "字节"),
        "deleted": ("按保留份数删除旧备份", "份"),
        "path": ("备份文件", ""),
        "skipped_reason": ("未备份原因", ""),
    },
}
# A counter a job may add later, under any job: still said in Chinese.
OTHER: dict[str, tuple[str, str]] = {
    "sent": ("发出", "条"),
    "failed": ("失败", "条"),
    "skipped": ("跳过", "条"),
    "skipped_reason": ("未发送原因", ""),
    "period": ("月份", ""),
    "units": ("单位", "个"),
    "notified": ("通知", "条"),
    "nobody": ("无人接收提醒的单位", "个"),
}


def _label(job: str, key: str) -> tuple[str, str]:
    return COUNTS.get(job, {}).get(key) or OTHER.get(key) or ("其他统计", "")


def count_items(job: str, counts: Mapping[str, Any] | None) -> list[str]:
    """The run's counts as short phrases ("临期提醒 3 项", "未发送原因：非工作日…"), the
    job's known counters first in their order, any other after."""
    counts = dict(counts or {})
    order = [k for k in COUNTS.get(job, {}) if k in counts] + [
        k for k in counts if k not in COUNTS.get(job, {})
    ]
    out = []
    for key in order:
        label, measure = _label(job, key)
        value = counts[key]
        if isinstance(value, bool) or not isinstance(value, int) or not measure:
            text = month_text(str(value)) if key == "period" else str(value)
            out.append(f"{label}：{text}")
        else:
            out.append(f"{label} {value} {measure}")
    return out


def sweep_summary(counts: Mapping[str, Any]) -> str:
    """One line for a sweep: "临期提醒 3 项，逾期催办 2 项，…，含提醒 6 条" (the reason it
    did not send, if any, is said apart)."""
    return "，".join(count_items("sweep", {k: v for k, v in counts.items() if k != "skipped"}))
