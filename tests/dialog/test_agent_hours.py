"""Agent hours: open/closed in the store's zone, the next opening, and the shopper-facing sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialog.agent_hours import AgentHours

SH = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=SH)


def test_default_window_is_nine_to_midnight_shanghai():
    hours = AgentHours.parse("09:00-24:00")
    assert hours.window_text == "09:00-24:00"
    assert not hours.is_open(at(8, 59))
    assert hours.is_open(at(9, 0))
    assert hours.is_open(at(23, 59))
    assert not hours.is_open(at(0, 0))
    assert not hours.is_open(at(3, 30))


def test_times_in_other_zones_are_converted():
    hours = AgentHours.parse("09:00-24:00")
    # 00:30 UTC is 08:30 in Shanghai: closed; 01:00 UTC is 09:00: open.
    assert not hours.is_open(datetime(2025, 6, 2, 0, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2025, 6, 2, 1, 0, tzinfo=UTC))


def test_next_open_is_today_before_nine_and_now_when_open():
    hours = AgentHours.parse("09:00-24:00")
    assert hours.next_open(at(2, 15)) == at(9, 0)
    assert hours.next_open(at(10, 0)) == at(10, 0)


def test_window_across_midnight():
    night = AgentHours.parse("20:00-02:00")
    assert night.is_open(at(21)) and night.is_open(at(1, 59))
    assert not night.is_open(at(2)) and not night.is_open(at(12))
    assert night.next_open(at(12)) == at(20)
    assert night.next_open(at(3)) == at(20)


def test_next_open_rolls_to_tomorrow_after_the_window():
    early = AgentHours.parse("09:00-18:00")
    assert early.next_open(at(19)) == at(9, day=3)


def test_shopper_message_names_the_reply_time():
    hours = AgentHours.parse("09:00-24:00")
    closed = hours.reply_time_message(at(2, 0))
    assert "09:00-24:00" in closed and "今天 09:00" in closed
    assert "明天 09:00" in AgentHours.parse("09:00-18:00").reply_time_message(at(19))
    assert "请稍候" in hours.reply_time_message(at(15))


def test_bad_configuration_is_rejected():
    for bad in ("9-18", "09:00", "25:00-26:00", "09:70-18:00"):
        with pytest.raises(ValueError):
            AgentHours.parse(bad)
    with pytest.raises(ValueError):
        AgentHours.parse("09:00-09:00")
    with pytest.raises(ValueError):
        AgentHours.parse("09:00-18:00").is_open(datetime(2025, 6, 2, 10))  # naive
    assert AgentHours.parse("00:00-24:00").always_open
