"""When human agents are on duty, and the sentence that tells a shopper when
an agent will reply.

Hours are one daily window in the store's time zone, e.g. ``09:00-24:00``
Asia/Shanghai; a window may cross midnight (``20:00-02:00``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)


def _parse_hhmm(text: str) -> int:
    """Minutes after midnight for ``HH:MM``; ``24:00`` is 1440."""
    try:
        hh, mm = text.strip().split(":")
        minutes = int(hh) * 60 + int(mm)
    except ValueError as e:
        raise ValueError(f"bad time {text!r}; expected HH:MM") from e
    if not (0 <= int(mm) < 60 and 0 <= minutes <= 24 * 60):
        raise ValueError(f"bad time {text!r}; expected HH:MM between 00:00 and 24:00")
    return minutes


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class AgentHours:
    """A daily on-duty window; ``start_min``/``end_min`` are minutes after midnight."""

    start_min: int = 9 * 60
    end_min: int = 24 * 60
    tz_name: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.start_min == self.end_min % (24 * 60) and self.end_min != 24 * 60:
            raise ValueError("agent hours window is empty")
        ZoneInfo(self.tz_name)  # raises for an unknown zone

    @classmethod
    def parse(cls, window: str, tz_name: str = "Asia/Shanghai") -> AgentHours:
        """``"09:00-24:00"`` -> AgentHours."""
        try:
            start, end = window.split("-")
        except ValueError as e:
            raise ValueError(f"bad agent hours {window!r}; expected HH:MM-HH:MM") from e
        return cls(_parse_hhmm(start), _parse_hhmm(end), tz_name)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def always_open(self) -> bool:
        return self.start_min == 0 and self.end_min == 24 * 60

    @property
    def window_text(self) -> str:
        return f"{_fmt(self.start_min)}-{_fmt(self.end_min)}"

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(self.tz)

    def is_open(self, now: datetime) -> bool:
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min  # window crosses midnight

    def next_open(self, now: datetime) -> datetime:
        """``now`` if agents are on duty, else the next start of the window (in the store's zone)."""
        local = self._local(now)
        if self.is_open(now):
            return local
        start = datetime.combine(local.date(), time(self.start_min // 60, self.start_min % 60),
                                 tzinfo=self.tz)
        return start if start > local else start + _DAY

    def reply_time_message(self, now: datetime) -> str:
        """A Chinese sentence telling the shopper when a human agent will answer."""
        if self.is_open(now):
            return "已为您转接人工客服，请稍候，客服会尽快回复您。"
        local = self._local(now)
        opens = self.next_open(now)
        day = "今天" if opens.date() == local.date() else "明天"
        return (f"现在是非人工服务时间（人工客服在线时间 {self.window_text}），"
                f"您的问题已记录，客服将在{day} {opens:%H:%M} 上线后优先回复您。")
