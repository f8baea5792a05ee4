"""Warnings about a valid configuration that would quietly send nothing.

A config can pass every check and still never send a reminder or a digest: campaign
dates copied from the example (2021), a schedule whose every coming day is a holiday,
a unit with no address to remind. `baocao check` prints these and `baocao run` logs
them at start; they are warnings, never errors (the administrator may mean it).
"""

from __future__ import annotations

import datetime as dt

from service.config import Config
from service.day.reminders import reminder_addresses, reminders_expected

LOOKAHEAD_DAYS = 7  # "no reporting day in the next week" is worth saying; a long weekend is not


def config_warnings(cfg: Config, now: dt.datetime) -> list[str]:
    """One sentence per reason why reminders or digests would not go out, as of `now`."""
    today = now.astimezone(cfg.service.timezone).date()
    campaign = cfg.campaign
    warnings: list[str] = []
    if campaign.end_date is not None and campaign.end_date < today:
        warnings.append(
            f"The campaign ended on {campaign.end_date:%d/%m/%Y} (campaign.end_date): no reminder is "
            "sent after it; if reports are still due, set campaign.start_date and campaign.end_date "
            "to the current campaign."
        )
    elif campaign.start_date is not None and campaign.start_date > today:
        warnings.append(
            f"The campaign starts on {campaign.start_date:%d/%m/%Y} (campaign.start_date): no reminder "
            "is sent and no digest is owed before then."
        )

    window = [today + dt.timedelta(days=i) for i in range(LOOKAHEAD_DAYS)]
    # Campaign dates already said why; this is for a schedule (report_days, holidays,
    # holiday_calendar) that leaves the coming week empty.
    if not warnings and not any(reminders_expected(cfg, d) for d in window):
        warnings.append(
            f"No reporting day falls in the next {LOOKAHEAD_DAYS} days ({window[0]:%d/%m}–"
            f"{window[-1]:%d/%m/%Y}; see schedule.report_days, schedule.holidays, schedule.holiday_calendar, "
            "schedule.working_days and the campaign "
            "dates): no report is expected and no reminder is sent until then."
        )

    if cfg.smtp is None:
        warnings.append("There is no [smtp] section, so no digest, acknowledgement or reminder is sent.")
    if cfg.reminders.enabled and cfg.reports and not any(r.reminders_at for r in cfg.reports):
        warnings.append(
            "Reminders are enabled ([reminders] enabled = true) but no report has a reminder time "
            "(reports.reminders_at, default schedule.reminders_at), so no reminder is sent."
        )
    elif cfg.reminders.enabled and not cfg.reports and not cfg.schedule.reminders_at:
        warnings.append(
            "Reminders are enabled ([reminders] enabled = true) but schedule.reminders_at "
            "lists no time, so no reminder is sent."
        )
    elif cfg.reminders.enabled:
        warnings += _reminders_never_due(cfg)
        for unit in cfg.units:
            if not reminder_addresses(unit):
                warnings.append(
                    f"Unit {unit.code} has no address to send reminders to (its senders "
                    f"{', '.join(unit.senders)} are only wildcards and it has no reminder_to), "
                    "so it gets no reminder."
                )
    return warnings


def _reminders_never_due(cfg: Config) -> list[str]:
    """[[reports]]: a weekly report whose reminder day is a weekday no reporting day falls
    on (schedule.report_days, working_days) never reminds anyone."""
    from service.config.calendar import trigger_weekdays

    days = trigger_weekdays(cfg.schedule)
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return [
        f"Report {r.code} reminds on {names[r.reminder_day]} (reports.reminder_day, default its deadline_day), "
        "which is not a reporting day (schedule.report_days), so its reminders are never sent."
        for r in cfg.reports
        if r.period == "week" and r.reminders_at and isinstance(r.reminder_day, int) and r.reminder_day not in days
    ]
