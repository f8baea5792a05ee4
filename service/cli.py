"""The `baocao` command line: a thin layer over the service, errors as one sentence.

Start-up is part of the product (`baocao --help`, `status`, an empty `poll` should feel
instant), so this module imports only the standard library and the error types at the
top: each command imports what it needs when it runs (the configuration, SQLAlchemy,
the readers, the renderers). tests/unit/test_startup.py guards it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import BaocaoError, MailboxError, SmtpError, StorageError, UsageError
from service.logs import set_log_zone, setup_logging

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from service.config import Config
    from service.config.objects import ReportConfig
    from service.day.dayview import DayView
    from service.ingest.pipeline import Ingestor
    from storage.records import DigestRecord

log = logging.getLogger("baocao")

REPORT_HELP = "the report's code (default: the only report, or the daily one)"

# Commands that need the mail passwords; the others work from the database alone.
NEEDS_SECRETS = {"poll", "run", "digest"}
# Commands that read a day and write it out, then end (`digest` only as a dry run): `run`
# lets the process leave as soon as their output is flushed.
ONE_SHOT = {"status", "export", "digest"}

_exit_when_done = False  # set by `run`: the process ends when `main` returns


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (("config", None), ("debug", False), ("verbose", False), ("log_format", "plain")):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.command, debug=args.debug, verbose=args.verbose, log_format=args.log_format)
    if _exit_when_done and args.command in ONE_SHOT and (args.command != "digest" or args.dry_run):
        from service.day.bulk import keep_until_exit

        keep_until_exit()
    try:
        return int(args.func(args) or 0)
    except BaocaoError as exc:
        if args.debug:
            log.exception("failed")
        print(f"baocao: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("baocao: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI edge: one sentence, no traceback
        if args.debug:
            raise
        print(
            f"baocao: unexpected error ({type(exc).__name__}: {str(exc)[:300]}); run again with --debug for details",
            file=sys.stderr,
        )
        return 1


def run() -> None:
    """The `baocao` console script and `python -m service.cli`: `main`, then the exit.

    After a one-shot command (ONE_SHOT) that read through the database driver alone, the
    process leaves by `os._exit` once its output and logs are flushed: a province's day is
    a million objects, and freeing them one by one (and collecting their cycles) on the
    way out costs a tenth of a second of a one-second `status`. Anything else, a command
    that went through SQLAlchemy (its pooled connections are closed by the normal exit)
    or output that cannot be flushed (a closed pipe), exits the usual way."""
    global _exit_when_done
    _exit_when_done = True
    code = main()
    if "sqlalchemy" not in sys.modules and "service.day.bulk" in sys.modules:
        from service.day import bulk

        if bulk.keeping():
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                sys.exit(code)  # as before: the interpreter reports the stream it cannot flush
            logging.shutdown()
            os._exit(code)
    sys.exit(code)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("baocao")
    except PackageNotFoundError:
        return "unknown"


# -- shared plumbing ----------------------------------------------------------------------


def config_of(args: argparse.Namespace, *, require_secrets: bool | None = None) -> Config:
    from service.config import load_config, resolve_config_path
    from service.config.loading import cache_dir_for

    need = args.command in NEEDS_SECRETS if require_secrets is None else require_secrets
    path = resolve_config_path(args.config, os.environ)
    # `check` always validates the file; the other commands take it validated from the
    # cache when nothing it was made from has changed (service.config.loading.ConfigCache).
    cache = cache_dir_for(os.environ) if args.command != "check" else None
    cfg = load_config(path, require_secrets=need, cache_dir=cache)
    set_log_zone(cfg.service.timezone)
    return cfg


def open_sessions(cfg: Config) -> sessionmaker[Session]:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import describe_db_error, open_database

    try:
        return open_database(cfg.service.database_url)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot open the database {safe_url(cfg.service.database_url)}: {describe_db_error(exc)}"
        ) from exc


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(database_url)"


def parse_day(text: str | None, cfg: Config) -> dt.date:
    if not text:
        return dt.datetime.now(cfg.service.timezone).date()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise UsageError(f"'{text}' is not a date; use YYYY-MM-DD or DD/MM/YYYY")


@contextmanager
def ingestor_for(cfg: Config) -> Iterator[Ingestor]:
    from service.ingest.archive import Archive
    from service.ingest.pipeline import Ingestor

    archive = Archive(cfg.service.archive_dir)
    archive.check_writable()
    ing = Ingestor(cfg, open_sessions(cfg), archive)
    try:
        yield ing
    finally:
        ing.close()


# -- commands -----------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    cfg = config_of(args, require_secrets=args.connect)
    targets = f", {len(cfg.campaign.targets)} targets" if cfg.campaign.targets else ""
    print(
        f"Configuration {cfg.source} is valid: {len(cfg.units)} units, "
        f"{len(cfg.form.indicators)} indicators, {len(cfg.form.measures)} measures{targets}."
    )
    from service.admin.check import check_connections
    from service.admin.preflight import config_warnings

    for warning in config_warnings(cfg, dt.datetime.now(dt.UTC)):
        print(f"Warning: {warning}")  # valid all the same: exit 0
    if args.connect:
        check_connections(cfg)
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from service.ingest.archive import Archive
    from service.mail.mailbox import Mailbox
    from service.schedule.quiet import nothing_to_do

    cfg = config_of(args)
    if cfg.imap is None:
        raise UsageError("the configuration has no [imap] section; add one to poll a mailbox")
    Archive(cfg.service.archive_dir).check_writable()
    with ExitStack() as stack:
        with Mailbox(cfg.imap) as mb:
            # Mostly there is nothing new: told by STATUS and a few queries through the
            # database driver, before the ingest machinery (SQLAlchemy, the workers) is loaded.
            if nothing_to_do(cfg, mb, dt.datetime.now(dt.UTC)):
                print(f"Stored 0 new message(s), 0 already known, from {cfg.imap.folder} on {cfg.imap.host}.")
                return 0
            ing = stack.enter_context(ingestor_for(cfg))
            report = ing.poll(mb)
        from service.schedule.outbox import acknowledge

        # A poll run from cron acknowledges too; sending after the mailbox is done with.
        replies = acknowledge(cfg, ing.sessions, ing.archive, ing.clock())
    tz = cfg.service.timezone
    for s in report.stored:
        what = s.unit_code or s.kind
        print(
            f"{s.received_at.astimezone(tz):%Y-%m-%d %H:%M:%S}  {what:<14} {s.kind:<10} "
            f"{'read' if s.readable else '-':<5} {s.from_address or '?'}  {s.subject[:70]}"
        )
    print(
        f"Stored {len(report.stored)} new message(s), {report.duplicates} already known, "
        f"from {cfg.imap.folder} on {cfg.imap.host}."
    )
    if replies.sent or replies.failed:
        print(
            f"Sent {replies.sent} acknowledgement(s) and reminder(s) to units"
            f"{f'; {replies.failed} failed and will be retried' if replies.failed else ''}."
        )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from service.ingest.pipeline import ingest_files

    cfg = config_of(args)
    missing = [p for p in args.files if not Path(p).is_file()]
    if missing:
        raise UsageError(f"no such file: {missing[0]}")
    with ingestor_for(cfg) as ing:
        results = ingest_files(ing, args.files)
    new = 0
    for path, s in results:
        new += not s.duplicate
        state = "already stored" if s.duplicate else s.kind
        print(f"{path}: {state} {s.unit_code or ''}".rstrip())
    print(f"Imported {new} new message(s) of {len(results)}.")
    return 0


def report_of(cfg: Config, code: str | None) -> ReportConfig:
    """The report `--report CODE` names; without it, the only report or the only daily one."""
    try:
        return cfg.report(code)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def cmd_status(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    report = report_of(cfg, args.report)
    day = parse_day(args.date, cfg)
    if cfg.reports:  # the report's period containing `day`, and its digest
        from service.day.reportview import build_report_view, report_config
        from service.outputs.export import report_heading
        from storage.digests import digest_of

        with open_sessions(cfg)() as session:
            view = build_report_view(session, cfg, report, day)
            # With [[reports]], one digest per report and period (its first day).
            row = digest_of(session, view.day, report.code)
        return _print_status(args, view, row, report_config(cfg, report), report_heading(view, report, cfg))
    from service.day.dayview import build_day_view
    from storage.days import digest_of_day
    from storage.direct import open_direct

    # Read through the database driver when the schema is current (no SQLAlchemy to
    # import); else the full way, which migrates it first.
    reader = open_direct(cfg.service.database_url)
    with reader if reader is not None else open_sessions(cfg)() as db:
        view = build_day_view(db, cfg, day)
        row = digest_of_day(db, day)
    return _print_status(args, view, row, cfg, None)


def _print_status(
    args: argparse.Namespace, view: DayView, row: DigestRecord | None, cfg: Config, heading: str | None
) -> int:
    """`status` of a day view (with [[reports]]: a report's period, `cfg` as the report sees it,
    under its `heading`), and its digest's state, as a table or --json."""
    from service.outputs.export import day_json, digest_json, digest_line, status_text
    from service.outputs.jsontext import dumps_indented

    if args.json:
        doc = day_json(view, cfg)
        doc["digest"] = digest_json(row, cfg)
        print(dumps_indented(doc))
    else:
        table = status_text(view, cfg) + "\n\n" + digest_line(row, view, cfg)
        print(table if heading is None else heading + "\n" + table)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from service.outputs.export import day_json

    cfg = config_of(args)
    report = report_of(cfg, args.report)
    if args.from_date or args.to_date:
        if not (args.from_date and args.to_date):
            raise UsageError("--from and --to go together")
        if args.date:
            raise UsageError("give either --date or --from/--to")
        start, end = parse_day(args.from_date, cfg), parse_day(args.to_date, cfg)
        if end < start:
            raise UsageError("--to is before --from")
        if (end - start).days > 366:
            raise UsageError("export at most one year at a time")
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    else:
        days = [parse_day(args.date, cfg)]
    if args.format == "xlsx" and not args.out:
        raise UsageError("--format xlsx needs --out FILE.xlsx")
    if cfg.reports:
        from service.day.reportview import build_report_view, report_config

        with open_sessions(cfg)() as session:
            views = [build_report_view(session, cfg, report, d) for d in days]
        # A week or a month is one view however many of its days the range holds.
        views = [v for i, v in enumerate(views) if v.period is None or i == 0 or v.day != views[i - 1].day]
        rcfg = report_config(cfg, report)
    else:
        from service.day.dayview import build_day_view
        from storage.direct import open_direct

        reader = open_direct(cfg.service.database_url)  # as `status`: the driver alone when the schema is current
        with reader if reader is not None else open_sessions(cfg)() as db:
            views = [build_day_view(db, cfg, d) for d in days]
        rcfg = cfg
    if args.format == "json":
        docs = [day_json(v, rcfg) for v in views]
        doc = docs[0] if len(docs) == 1 else {"from": days[0].isoformat(), "to": days[-1].isoformat(), "days": docs}
        from service.outputs.jsontext import dumps_indented

        data = (dumps_indented(doc) + "\n").encode("utf-8")
    else:
        from service.outputs.export import render_export_csv, render_export_xlsx

        data = (render_export_xlsx if args.format == "xlsx" else render_export_csv)(views, rcfg)
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"Wrote {args.format} export of {len(days)} day(s) to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from service.ingest.archive import Archive

    cfg = config_of(args, require_secrets=not args.dry_run)
    if cfg.reports:
        return _report_digest(args, cfg)
    day = parse_day(args.date, cfg)
    now = dt.datetime.now(dt.UTC)
    archive = Archive(cfg.service.archive_dir)
    if not args.dry_run and cfg.smtp is None:
        raise UsageError("the configuration has no [smtp] section to send the digest with")
    if not args.dry_run and cfg.imap is not None and day == now.astimezone(cfg.service.timezone).date():
        _poll_before_digest(cfg)  # a report that arrived a minute ago belongs in it
    if args.out or args.dry_run:
        from service.outputs.digest import compose_email
        from service.schedule.content import build_digest, write_digest_files
        from storage.direct import open_direct

        # As `status`: read through the driver alone when the schema is current (a dry run
        # imports no SQLAlchemy); else the full way, which migrates it first.
        reader = open_direct(cfg.service.database_url)
        with reader if reader is not None else open_sessions(cfg)() as db:
            content = build_digest(cfg, db, archive, day, now)
        if args.out:
            write_digest_files(
                content,
                compose_email(content, cfg, now=now, message_id="<dry-run@baocao>", draft=True),
                Path(args.out),
                day,
            )
        if args.dry_run:
            print(
                f"Digest for {day:%d/%m/%Y} built, not sent: {content.subject}"
                + (f" (files in {args.out})" if args.out else "")
            )
            return 0
    from service.schedule.dispatch import outcome_sentence, send_digest

    sessions = open_sessions(cfg)
    outcome = send_digest(cfg, sessions, archive, day, now, resend=args.resend, ignore_backoff=True, force=args.force)
    if outcome.holder and args.force:
        print(f"Took over the digest for {day:%d/%m/%Y} from {outcome.holder}.")
    if outcome.status == "failed":
        raise SmtpError(
            f"the digest for {day:%d/%m/%Y} was not sent: {outcome.detail}; it will be retried by the daemon"
        )
    print(outcome_sentence(outcome, cfg))
    return 0


def _report_digest(args: argparse.Namespace, cfg: Config) -> int:
    """A report's digest for its period containing --date (default: today's period)."""
    from service.day.periods import period_label, period_of
    from service.day.reportview import report_config
    from service.ingest.archive import Archive
    from service.schedule.dispatch import build_digest, outcome_sentence, send_digest

    report = report_of(cfg, args.report)
    period = period_of(report, parse_day(args.date, cfg), cfg.service.timezone)
    rcfg = report_config(cfg, report)
    now = dt.datetime.now(dt.UTC)
    archive = Archive(cfg.service.archive_dir)
    label = period_label(period, cfg.service.language)
    if not args.dry_run and cfg.smtp is None:
        raise UsageError("the configuration has no [smtp] section to send the digest with")
    if not args.dry_run and cfg.imap is not None and now.astimezone(cfg.service.timezone).date() in period:
        _poll_before_digest(cfg)  # a report that arrived a minute ago belongs in it
    sessions = open_sessions(cfg)
    if args.out or args.dry_run:
        from service.outputs.digest import compose_email
        from service.schedule.dispatch import write_digest_files

        with sessions() as session:
            content = build_digest(rcfg, session, archive, period.start, now)
        if args.out:
            message = compose_email(content, rcfg, now=now, message_id="<dry-run@baocao>", draft=True)
            write_digest_files(content, message, Path(args.out), period.start)
        if args.dry_run:
            print(
                f"Digest of {report.code} for {label} built, not sent: {content.subject}"
                + (f" (files in {args.out})" if args.out else "")
            )
            return 0
    outcome = send_digest(
        rcfg, sessions, archive, period.start, now, resend=args.resend, ignore_backoff=True, force=args.force
    )
    if outcome.status == "failed":
        raise SmtpError(
            f"the digest of {report.code} for {label} was not sent: {outcome.detail}; it will be retried by the daemon"
        )
    print(f"{report.code}, {label}: {outcome_sentence(outcome, rcfg)}")
    return 0


def _poll_before_digest(cfg: Config) -> None:
    from service.mail.mailbox import Mailbox

    assert cfg.imap is not None  # cmd_digest polls only with an [imap] section
    try:
        with ingestor_for(cfg) as ing, Mailbox(cfg.imap) as mb:
            ing.poll(mb)
    except (MailboxError, StorageError) as exc:
        log.warning("could not poll before the digest (%s); building it from what is stored", exc)


def cmd_run(args: argparse.Namespace) -> int:
    import faulthandler
    import signal as _signal

    from service.ingest.archive import Archive
    from service.schedule.daemon import Daemon

    cfg = config_of(args)
    faulthandler.register(_signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` dumps the stacks
    archive = Archive(cfg.service.archive_dir)
    archive.check_writable()
    Daemon(cfg, open_sessions(cfg), archive).run()
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from service.schedule.daemon import health

    cfg = config_of(args, require_secrets=False)
    with open_sessions(cfg)() as session:
        ok, text = health(cfg, session, dt.datetime.now(dt.UTC))
    print(text, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from service.admin.backup import write_backup

    cfg = config_of(args, require_secrets=False)
    print(write_backup(cfg, Path(args.out), dt.datetime.now(dt.UTC), keep=args.keep))
    return 0


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return value


def cmd_reprocess(args: argparse.Namespace) -> int:
    from service.ingest.reprocess import reprocess

    cfg = config_of(args)
    start = parse_day(args.from_date, cfg) if args.from_date else None
    end = parse_day(args.to_date, cfg) if args.to_date else None
    report = report_of(cfg, args.report) if args.report else None  # an unknown code: the codes listed
    if args.date:  # the days of the report's period containing it
        from service.day.periods import period_of

        if start or end:
            raise UsageError("give either --date or --from/--to")
        period = period_of(report or report_of(cfg, None), parse_day(args.date, cfg), cfg.service.timezone)
        start, end = period.start, period.end
    elif report is not None:
        raise UsageError("--report goes with --date: the messages of the report's period containing that day")
    if start and end and end < start:
        raise UsageError("--to is before --from")
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            print(f"\rReprocessing {done}/{total} messages", end="", file=sys.stderr, flush=True)

    with ingestor_for(cfg) as ing:
        result = reprocess(ing, start=start, end=end, unassigned_only=args.unassigned, progress=progress)
    if tty and result.total:
        print(file=sys.stderr)
    print(f"Reprocessed {result.total} message(s) with the current configuration; {result.changed} changed.")
    if result.missing_files:
        print(f"{len(result.missing_files)} archived file(s) are missing; those messages were left as they were.")
        return 1
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from service.day.reportview import report_config
    from service.outputs.template import render_form

    cfg = config_of(args)
    report = report_of(cfg, args.report)
    unit = None
    if args.unit:
        try:
            unit = cfg.unit(args.unit)
        except KeyError:
            raise UsageError(f"no unit with code '{args.unit}' in {cfg.source}") from None
        if unit.code not in report.units:
            raise UsageError(f"unit '{unit.code}' does not send the report '{report.code}'")
    period = None
    if args.date:
        from service.day.periods import period_of

        period = period_of(report, parse_day(args.date, cfg), cfg.service.timezone)
    out = Path(args.out)
    try:
        out.write_bytes(render_form(report_config(cfg, report), unit, period=period))
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    what = f"'{report.title or report.code}'" if cfg.reports else "report"
    when = ""
    if period is not None:
        from service.day.periods import period_label

        when = f" for {period_label(period, cfg.service.language)}"
    print(f"Wrote the blank {what} form{' for ' + unit.name if unit else ''}{when} to {out}.")
    return 0


def cmd_upward(args: argparse.Namespace) -> int:
    from service.outputs.upward import figures_of_day, fill_upward
    from templates import catalog

    cfg = config_of(args)
    report = report_of(cfg, args.report)
    if cfg.reports:
        from service.day.reportview import report_config

        rcfg = report_config(cfg, report)
        if rcfg.upward is None:
            raise UsageError(
                f"the report '{report.code}' in {cfg.source} has no [reports.upward] table naming the superior's form"
            )
    else:
        rcfg = cfg
        if cfg.upward is None:
            raise UsageError(f"the configuration {cfg.source} has no [upward] section naming the superior's form")
    up = rcfg.upward
    assert up is not None
    out = Path(args.out)
    if out.suffix.lower() != up.template.suffix.lower():
        raise UsageError(f"--out {out} must end in {up.template.suffix.lower()}, like the form {up.template.name}")
    day = parse_day(args.date, cfg)
    with open_sessions(cfg)() as session:
        if cfg.reports:
            from service.day.reportview import build_report_view, to_date_values

            view = build_report_view(session, cfg, report, day)
            figures = figures_of_day(view, report.cumulative)
            if not report.cumulative:
                import dataclasses

                figures = dataclasses.replace(figures, to_date_loader=lambda: to_date_values(session, cfg, report, day))
        else:
            from service.day.dayview import build_day_view

            view = build_day_view(session, cfg, day)
            figures = figures_of_day(view, report.cumulative)
        form = fill_upward(up.template, figures, rcfg.form, sheet=up.sheet, language=cfg.service.language)
    try:
        out.write_bytes(form.data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    from service.outputs.i18n import fill

    texts = catalog(cfg.service.language)["upward"]
    print(
        fill(texts["written"], {"filled": form.filled, "file": up.template.name, "date": f"{day:%d/%m/%Y}", "out": out})
    )
    for note in form.notes:
        print(note)
    if form.unmatched:
        print(fill(texts["unmatched_heading"], {"count": len(form.unmatched)}))
        for line in form.unmatched:
            print(f"  - {line}")
    else:
        print(texts["all_matched"])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from service.config import load_config, resolve_config_path
    from service.demo.demo import run_demo

    path = resolve_config_path(args.config, os.environ)
    if args.config is None and not os.environ.get("BAOCAO_CONFIG") and not path.exists():
        path = Path(__file__).resolve().parent.parent / "config.example.toml"
    cfg = load_config(path, require_secrets=False)
    set_log_zone(cfg.service.timezone)
    run_demo(cfg, Path(args.out), parse_day(args.date, cfg) if args.date else None)
    return 0


# -- parser -------------------------------------------------------------------------------


class _VersionAction(argparse.Action):
    """--version: the installed version, looked up only when asked (importlib.metadata
    scans the installed distributions, which every other command would pay for)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        print(f"baocao {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", default=argparse.SUPPRESS, help="config file (default: $BAOCAO_CONFIG, else ./config.toml)"
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress to stderr"
    )
    common.add_argument(
        "--log-format",
        choices=["plain", "json"],
        default=argparse.SUPPRESS,
        help="log lines as plain text (default) or one JSON object per line",
    )

    parser = argparse.ArgumentParser(
        prog="baocao",
        parents=[common],
        description="Collects daily reports sent by email and sends the coordinator one digest at the deadline.",
    )
    parser.add_argument("--version", action=_VersionAction)
    # No set_defaults here: the parent's actions are shared with every subparser, and a
    # default set on one would overwrite a --config given before the command.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", parents=[common], help="validate the config (--connect: log in to IMAP and SMTP)")
    p.add_argument("--connect", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("poll", parents=[common], help="one poll of the mailbox now; prints what it stored")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("import", parents=[common], help="ingest .eml files received some other way")
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("status", parents=[common], help="who has reported on a day")
    p.add_argument("--date", help="YYYY-MM-DD (default: today); with --report, the period containing it")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", parents=[common], help="the stored figures")
    p.add_argument("--date")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP)
    p.add_argument("--from", dest="from_date")
    p.add_argument("--to", dest="to_date")
    p.add_argument("--format", choices=["json", "xlsx", "csv"], default="json")
    p.add_argument("--out")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("digest", parents=[common], help="build (and send) the digest for a day")
    p.add_argument("--date", help="YYYY-MM-DD (default: today)")
    p.add_argument("--dry-run", action="store_true", help="build it, do not send")
    p.add_argument("--out", metavar="DIR", help="also write the .eml, .html and .xlsx there")
    p.add_argument("--resend", action="store_true", help="send again even if it was sent")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP + "; --date then picks its period")
    p.add_argument(
        "--force",
        action="store_true",
        help="take the digest over from the instance holding it (says which), without waiting for its lease to run out",
    )
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("run", parents=[common], help="the daemon: polls, digest on schedule")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "health", parents=[common], help="exit 0 when polls succeed and no digest is overdue, else 1 with the reason"
    )
    p.set_defaults(func=cmd_health)

    p = sub.add_parser(
        "backup", parents=[common], help="a consistent copy of the database (SQLite), the archive and the config"
    )
    p.add_argument("--out", required=True, metavar="FILE.tar.gz")
    p.add_argument(
        "--keep",
        type=_at_least_one,
        metavar="N",
        help="then keep only the N newest backups named like FILE (other dates) in its folder",
    )
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("reprocess", parents=[common], help="re-read archived messages with the current config")
    p.add_argument("--from", dest="from_date")
    p.add_argument("--to", dest="to_date")
    p.add_argument("--unassigned", action="store_true", help="only messages not tied to a unit")
    p.add_argument("--date", help="re-read the days of the report's period containing this day")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP)
    p.set_defaults(func=cmd_reprocess)

    p = sub.add_parser("template", parents=[common], help="write the blank report form for units")
    p.add_argument("--unit", help="unit code: fill in the unit's name")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP)
    p.add_argument("--date", help="name the report's period containing this day on the form (default: none)")
    p.add_argument("--out", required=True, metavar="F.xlsx")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser(
        "upward",
        parents=[common],
        help="fill the superior's own form ([upward] template) with a day's figures; lists what did not match",
    )
    p.add_argument("--date", help="YYYY-MM-DD (default: today); with --report, the period containing it")
    p.add_argument("--report", metavar="CODE", help=REPORT_HELP + "; its own form ([reports.upward])")
    p.add_argument("--out", required=True, metavar="FILE", help="the filled form (.xlsx or .docx, as the template)")
    p.set_defaults(func=cmd_upward)

    p = sub.add_parser(
        "demo", parents=[common], help="the whole pipeline on a throwaway local mailbox with generated reports"
    )
    p.add_argument("--out", default="demo-output", help="folder for the outputs (default: demo-output)")
    p.add_argument("--date", help="the (past) reporting day to simulate (default: yesterday)")
    p.set_defaults(func=cmd_demo)
    return parser


if __name__ == "__main__":  # pragma: no cover
    run()
