"""Warnings about a valid config that would send nothing (service.admin.preflight), time injected."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.admin.preflight import LOOKAHEAD_DAYS, config_warnings
from service.config import Config, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=TZ)  # a Thursday
TODAY = NOW.date()


@pytest.fixture(scope="module")
def example() -> Config:
    return load_config(EXAMPLE, require_secrets=False)


def running(cfg: Config, **schedule: object) -> Config:
    """`cfg` with a campaign around NOW and every unit reachable for reminders."""
    units = tuple(
        dataclasses.replace(u, reminder_to=u.reminder_to or (f"vanthu@{u.code.lower()}.example.vn",)) for u in cfg.units
    )
    return dataclasses.replace(
        cfg,
        units=units,
        campaign=dataclasses.replace(
            cfg.campaign, start_date=TODAY - dt.timedelta(days=20), end_date=TODAY + dt.timedelta(days=40)
        ),
        schedule=dataclasses.replace(cfg.schedule, **schedule),
    )


def test_the_example_config_copied_as_it_is_says_the_campaign_has_ended(example: Config) -> None:
    warnings = config_warnings(example, NOW)
    ended = [w for w in warnings if "campaign.end_date" in w]
    assert len(ended) == 1 and "25/08/2021" in ended[0]
    # The ended campaign explains the quiet week; it is not said twice.
    assert not any("next 7 days" in w for w in warnings)


def test_a_running_campaign_with_a_usual_schedule_has_no_warning(example: Config) -> None:
    assert config_warnings(running(example), NOW) == []


def test_a_campaign_that_has_not_started(example: Config) -> None:
    cfg = running(example)
    cfg = dataclasses.replace(
        cfg, campaign=dataclasses.replace(cfg.campaign, start_date=dt.date(2027, 1, 4), end_date=dt.date(2027, 3, 31))
    )
    (warning,) = config_warnings(cfg, NOW)
    assert "04/01/2027" in warning and "campaign.start_date" in warning


def test_the_date_is_the_config_time_zones(example: Config) -> None:
    cfg = running(example)
    cfg = dataclasses.replace(cfg, campaign=dataclasses.replace(cfg.campaign, end_date=TODAY))
    # 23:30 and 00:30 local are both on TODAY in UTC; only the local date tells them apart.
    last_evening = dt.datetime.combine(TODAY, dt.time(23, 30), tzinfo=TZ).astimezone(dt.UTC)
    next_night = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(0, 30), tzinfo=TZ).astimezone(dt.UTC)
    assert last_evening.date() == next_night.date() == TODAY
    assert config_warnings(cfg, last_evening) == []
    assert any("campaign.end_date" in w for w in config_warnings(cfg, next_night))


def test_no_reporting_day_in_the_coming_week(example: Config) -> None:
    week = frozenset(TODAY + dt.timedelta(days=i) for i in range(LOOKAHEAD_DAYS))
    (warning,) = config_warnings(running(example, holidays=week), NOW)
    assert "next 7 days" in warning and "03/12–09/12/2026" in warning and "schedule.holidays" in warning
    # One reporting day left in the window (its last day) is enough.
    last_day_works = week - {TODAY + dt.timedelta(days=LOOKAHEAD_DAYS - 1)}
    assert config_warnings(running(example, holidays=last_day_works), NOW) == []


def test_report_days_leave_the_week_empty_only_with_a_holiday_too(example: Config) -> None:
    # Weekdays only, on a Thursday: Friday and Monday are in the window, nothing to say.
    assert config_warnings(running(example, report_days=frozenset(range(5))), NOW) == []
    # Sundays only plus a holiday on the one Sunday in the window.
    sunday = TODAY + dt.timedelta(days=(6 - TODAY.weekday()) % 7)
    cfg = running(example, report_days=frozenset({6}), holidays=frozenset({sunday}))
    assert any("next 7 days" in w for w in config_warnings(cfg, NOW))


def test_a_unit_with_no_address_for_reminders(example: Config) -> None:
    cfg = running(example)
    thue = dataclasses.replace(cfg.unit("THUE"), reminder_to=())  # only *@thue.example.gov.vn
    cfg = dataclasses.replace(cfg, units=tuple(thue if u.code == "THUE" else u for u in cfg.units))
    (warning,) = config_warnings(cfg, NOW)
    assert "THUE" in warning and "*@thue.example.gov.vn" in warning and "reminder_to" in warning
    # Without reminders there is nothing to warn about.
    quiet = dataclasses.replace(cfg, reminders=dataclasses.replace(cfg.reminders, enabled=False))
    assert config_warnings(quiet, NOW) == []


def test_reminders_enabled_without_a_time(example: Config) -> None:
    (warning,) = config_warnings(running(example, reminders_at=()), NOW)
    assert "schedule.reminders_at" in warning


def test_reports_reminders(tmp_path: Path) -> None:
    from tests.unit.test_reports_config import example_with_reports

    (tmp_path / "config.toml").write_text(example_with_reports(), encoding="utf-8")
    cfg = load_config(tmp_path / "config.toml", require_secrets=False)
    assert config_warnings(running(cfg), NOW) == []
    weekdays = running(cfg, report_days=frozenset(range(4)))  # Monday to Thursday: the weekly one is due Friday
    (warning,) = config_warnings(weekdays, NOW)
    assert warning.startswith("Report tuan reminds on fri (reports.reminder_day, default its deadline_day)")
    silent = dataclasses.replace(cfg, reports=tuple(dataclasses.replace(r, reminders_at=()) for r in cfg.reports))
    (warning,) = config_warnings(running(silent), NOW)
    assert "no report has a reminder time (reports.reminders_at, default schedule.reminders_at)" in warning


def test_no_smtp_section(example: Config) -> None:
    (warning,) = config_warnings(dataclasses.replace(running(example), smtp=None), NOW)
    assert "[smtp]" in warning
