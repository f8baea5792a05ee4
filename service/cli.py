"""The `baocao` command line: a thin layer over the service, errors as one sentence."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.ingest.archive import Archive
from service.config import Config, load_config, resolve_config_path
from service.errors import BaocaoError, ConfigError, MailboxError, SmtpError, StorageError, UsageError

if TYPE_CHECKING:
    from service.mail.mailbox import FolderLayout

log = logging.getLogger("baocao")

# Commands that need the mail passwords; the others work from the database alone.
NEEDS_SECRETS = {"poll", "run", "digest"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (("config", None), ("debug", False), ("verbose", False), ("log_format", "plain")):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args)
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
        print(f"baocao: unexpected error ({type(exc).__name__}: {str(exc)[:300]}); "
              "run again with --debug for details", file=sys.stderr)
        return 1


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:
        return dist_version("baocao")
    except PackageNotFoundError:
        return "unknown"


class ZonedFormatter(logging.Formatter):
    """Log time stamps with their UTC offset, in the service's time zone once the config is
    read (`set_log_zone`; the machine's zone before): 2021-08-11 15:00:02.120+07:00.

    A container or a server usually runs in UTC while the schedule is in local time:
    without the offset an administrator cannot tell whether 08:00 is the 15:00 digest."""

    separator = " "

    def __init__(self, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.zone: dt.tzinfo | None = None  # None: the machine's zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        when = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).astimezone(self.zone)
        return when.isoformat(sep=self.separator, timespec="milliseconds")


class JsonFormatter(ZonedFormatter):
    """One JSON object per line, for log collectors (journald, Loki, ...)."""

    separator = "T"

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
               "message": record.getMessage()}
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.debug else (
        logging.INFO if args.command in ("poll", "run", "import", "reprocess", "demo") or args.verbose
        else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if args.log_format == "json" else
                         ZonedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # Library chatter (migrations, scheduler bookkeeping) only when debugging.
    for noisy in ("alembic", "apscheduler.scheduler", "apscheduler.executors.default", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.debug else logging.WARNING)


def set_log_zone(zone: dt.tzinfo) -> None:
    """From now on, log time stamps are in `zone` (the service's time zone)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, ZonedFormatter):
            handler.formatter.zone = zone


# -- shared plumbing ----------------------------------------------------------------------

def config_of(args: argparse.Namespace, *, require_secrets: bool | None = None) -> Config:
    need = args.command in NEEDS_SECRETS if require_secrets is None else require_secrets
    path = resolve_config_path(args.config, os.environ)
    cfg = load_config(path, require_secrets=need)
    set_log_zone(cfg.service.timezone)
    return cfg


def open_sessions(cfg: Config) -> sessionmaker[Session]:
    from service.ingest.pipeline import describe_db_error
    from storage.db import open_database
    try:
        return open_database(cfg.service.database_url)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database {safe_url(cfg.service.database_url)}: "
                           f"{describe_db_error(exc)}") from exc


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
def ingestor_for(cfg: Config) -> Iterator["Ingestor"]:  # noqa: F821
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
    print(f"Configuration {cfg.source} is valid: {len(cfg.units)} units, "
          f"{len(cfg.form.indicators)} indicators, {len(cfg.form.measures)} measures{targets}.")
    from service.admin.preflight import config_warnings
    for warning in config_warnings(cfg, dt.datetime.now(dt.timezone.utc)):
        print(f"Warning: {warning}")  # valid all the same: exit 0
    if args.connect:
        from service.mail.mailbox import Mailbox
        from service.mail.smtp import smtp_session
        if cfg.imap is None:
            raise UsageError("the configuration has no [imap] section to connect to")
        with Mailbox(cfg.imap) as mb:
            layout = mb.folder_layout()
            if layout.has(cfg.imap.folder):
                mb.select(cfg.imap.folder)  # and it opens
        print(f"IMAP: logged in to {cfg.imap.host}:{cfg.imap.port} as {cfg.imap.username}.")
        check_folders(cfg, layout)
        if cfg.smtp is None:
            raise UsageError("the configuration has no [smtp] section to connect to")
        with smtp_session(cfg.smtp):
            pass
        print(f"SMTP: logged in to {cfg.smtp.host}:{cfg.smtp.port}.")
    return 0


MAX_FOLDERS_LISTED = 40


def check_folders(cfg: Config, layout: FolderLayout) -> None:
    """Print the server's folders and namespace; raise ConfigError when imap.folder is missing
    or imap.processed_folder can neither be found nor created, with the name probably meant."""
    from service.outputs.i18n import Texts
    texts = Texts(cfg.service.language)
    imap = cfg.imap
    shown = ", ".join(layout.folders[:MAX_FOLDERS_LISTED])
    if len(layout.folders) > MAX_FOLDERS_LISTED:
        shown += " " + texts.sentence("check", "more_folders", {"count": len(layout.folders) - MAX_FOLDERS_LISTED})
    for prefix, delimiter in layout.personal:
        print(texts.sentence("check", "namespace", {"host": imap.host, "prefix": prefix, "delimiter": delimiter,
                                                    "folders": shown}))
    problems = []

    def problem(config_key: str, folder: str, sentence: str, **params: object) -> None:
        text = texts.sentence("check", sentence, {"folder": folder, "host": imap.host, **params})
        meant = layout.suggest(folder)
        if meant:
            text += "; " + texts.sentence("check", "did_you_mean", {"name": meant})
        problems.append(f"imap.{config_key}: {text}")

    if layout.has(imap.folder):
        print(texts.sentence("check", "folder_ok", {"folder": imap.folder}))
    else:
        problem("folder", imap.folder, "folder_missing")
    processed = imap.processed_folder
    if processed and processed != imap.folder:
        if layout.has(processed):
            print(texts.sentence("check", "processed_ok", {"folder": processed}))
        elif layout.can_create(processed):
            print(texts.sentence("check", "processed_later", {"folder": processed}))
        else:
            problem("processed_folder", processed, "cannot_create", prefix=layout.personal[0][0])
    if problems:
        raise ConfigError(cfg.source, problems)


def cmd_poll(args: argparse.Namespace) -> int:
    from service.mail.mailbox import Mailbox
    cfg = config_of(args)
    if cfg.imap is None:
        raise UsageError("the configuration has no [imap] section; add one to poll a mailbox")
    from service.schedule.outbox import drain_outbox, plan_acknowledgements
    with ingestor_for(cfg) as ing:
        with Mailbox(cfg.imap) as mb:
            report = ing.poll(mb)
        # A poll run from cron acknowledges too; sending after the mailbox is done with.
        now = ing.clock()
        with ing.sessions() as session:
            plan_acknowledgements(cfg, session, now)
            session.commit()
        replies = drain_outbox(cfg, ing.sessions, ing.archive, now)
    tz = cfg.service.timezone
    for s in report.stored:
        what = s.unit_code or s.kind
        print(f"{s.received_at.astimezone(tz):%Y-%m-%d %H:%M:%S}  {what:<14} {s.kind:<10} "
              f"{'read' if s.readable else '-':<5} {s.from_address or '?'}  {s.subject[:70]}")
    print(f"Stored {len(report.stored)} new message(s), {report.duplicates} already known, "
          f"from {cfg.imap.folder} on {cfg.imap.host}.")
    if replies.sent or replies.failed:
        print(f"Sent {replies.sent} acknowledgement(s) and reminder(s) to units"
              f"{f'; {replies.failed} failed and will be retried' if replies.failed else ''}.")
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


def cmd_status(args: argparse.Namespace) -> int:
    from service.day.dayview import build_day_view
    from service.outputs.export import day_json, status_text
    cfg = config_of(args)
    day = parse_day(args.date, cfg)
    sessions = open_sessions(cfg)
    from service.schedule.dispatch import digest_state
    from service.outputs.export import digest_json, digest_line
    with sessions() as session:
        view = build_day_view(session, cfg, day)
        row = digest_state(session, day)
        if args.json:
            doc = day_json(view, cfg)
            doc["digest"] = digest_json(row, cfg)
            print(json.dumps(doc, ensure_ascii=False, indent=1))
        else:
            print(status_text(view, cfg) + "\n\n" + digest_line(row, view, cfg))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from service.day.dayview import build_day_view
    from service.outputs.export import day_json
    cfg = config_of(args)
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
    sessions = open_sessions(cfg)
    with sessions() as session:
        views = [build_day_view(session, cfg, d) for d in days]
        if args.format == "json":
            docs = [day_json(v, cfg) for v in views]
            doc = docs[0] if len(docs) == 1 else {"from": days[0].isoformat(), "to": days[-1].isoformat(),
                                                  "days": docs}
            data = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        else:
            from service.outputs.export import render_export_csv, render_export_xlsx
            data = (render_export_xlsx if args.format == "xlsx" else render_export_csv)(views, cfg)
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
    from service.schedule.dispatch import build_digest, send_digest
    cfg = config_of(args, require_secrets=not args.dry_run)
    day = parse_day(args.date, cfg)
    now = dt.datetime.now(dt.timezone.utc)
    archive = Archive(cfg.service.archive_dir)
    if not args.dry_run and cfg.smtp is None:
        raise UsageError("the configuration has no [smtp] section to send the digest with")
    if not args.dry_run and cfg.imap is not None and day == now.astimezone(cfg.service.timezone).date():
        _poll_before_digest(cfg)  # a report that arrived a minute ago belongs in it
    sessions = open_sessions(cfg)
    if args.out or args.dry_run:
        from service.outputs.digest import compose_email
        with sessions() as session:
            content = build_digest(cfg, session, archive, day, now)
        if args.out:
            from service.schedule.dispatch import write_digest_files
            write_digest_files(content, compose_email(content, cfg, now=now, message_id="<dry-run@baocao>"),
                               Path(args.out), day)
        if args.dry_run:
            print(f"Digest for {day:%d/%m/%Y} built, not sent: {content.subject}"
                  + (f" (files in {args.out})" if args.out else ""))
            return 0
    outcome = send_digest(cfg, sessions, archive, day, now, resend=args.resend, ignore_backoff=True,
                          force=args.force)
    tz = cfg.service.timezone
    if outcome.holder and args.force:
        print(f"Took over the digest for {day:%d/%m/%Y} from {outcome.holder}.")
    messages = {
        "sent": f"Digest for {day:%d/%m/%Y} sent to {', '.join(cfg.digest.to)}"
                + (" (late)" if outcome.detail == "late" else "") + ".",
        "already_sent": f"The digest for {day:%d/%m/%Y} was already sent"
                        + (f" at {outcome.sent_at.astimezone(tz):%H:%M %d/%m/%Y}"
                           if outcome.sent_at else "") + "; use --resend to send it again.",
        "in_progress": f"Another instance, {outcome.holder}, is sending the digest for {day:%d/%m/%Y} right now"
                       + (f" (its lease runs until {outcome.until.astimezone(tz):%H:%M:%S})" if outcome.until else "")
                       + "; use --force to take it over.",
        "not_reporting_day": f"{day:%d/%m/%Y} is not a reporting day; no digest is due "
                             "(use --resend to send one anyway).",
        "taken_over": f"The digest for {day:%d/%m/%Y} was not sent by this command: {outcome.detail} took it over.",
        "waiting_for_copy": f"The digest for {day:%d/%m/%Y} was not sent again: {outcome.detail} "
                            "(use --force to send it now).",
    }
    if outcome.detail == "copy_found" and outcome.sent_at:
        messages["sent"] = (f"The digest for {day:%d/%m/%Y} had gone at {outcome.sent_at.astimezone(tz):%H:%M} "
                            "(its copy is in the mailbox); marked sent, not sent again.")
    if outcome.status == "failed":
        raise SmtpError(f"the digest for {day:%d/%m/%Y} was not sent: {outcome.detail}; "
                        "it will be retried by the daemon")
    print(messages.get(outcome.status, outcome.status))
    return 0


def _poll_before_digest(cfg: Config) -> None:
    from service.mail.mailbox import Mailbox
    try:
        with ingestor_for(cfg) as ing, Mailbox(cfg.imap) as mb:
            ing.poll(mb)
    except (MailboxError, StorageError) as exc:
        log.warning("could not poll before the digest (%s); building it from what is stored", exc)


def cmd_run(args: argparse.Namespace) -> int:
    import faulthandler
    import signal as _signal
    from service.schedule.daemon import Daemon
    faulthandler.register(_signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` dumps the stacks
    cfg = config_of(args)
    archive = Archive(cfg.service.archive_dir)
    archive.check_writable()
    Daemon(cfg, open_sessions(cfg), archive).run()
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from service.schedule.daemon import health
    cfg = config_of(args, require_secrets=False)
    with open_sessions(cfg)() as session:
        ok, text = health(cfg, session, dt.datetime.now(dt.timezone.utc))
    print(text, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from service.admin.backup import write_backup
    cfg = config_of(args, require_secrets=False)
    print(write_backup(cfg, Path(args.out), dt.datetime.now(dt.timezone.utc), keep=args.keep))
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
    from service.ingest.pipeline import reprocess
    cfg = config_of(args)
    start = parse_day(args.from_date, cfg) if args.from_date else None
    end = parse_day(args.to_date, cfg) if args.to_date else None
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
    print(f"Reprocessed {result.total} message(s) with the current configuration; "
          f"{result.changed} changed.")
    if result.missing_files:
        print(f"{len(result.missing_files)} archived file(s) are missing; those messages were left as they were.")
        return 1
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from service.outputs.template import render_form
    cfg = config_of(args)
    unit = None
    if args.unit:
        try:
            unit = cfg.unit(args.unit)
        except KeyError:
            raise UsageError(f"no unit with code '{args.unit}' in {cfg.source}") from None
    out = Path(args.out)
    try:
        out.write_bytes(render_form(cfg, unit))
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"Wrote the blank report form{' for ' + unit.name if unit else ''} to {out}.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo.demo import run_demo
    path = resolve_config_path(args.config, os.environ)
    if args.config is None and not os.environ.get("BAOCAO_CONFIG") and not path.exists():
        path = Path(__file__).resolve().parent.parent / "config.example.toml"
    cfg = load_config(path, require_secrets=False)
    set_log_zone(cfg.service.timezone)
    run_demo(cfg, Path(args.out), parse_day(args.date, cfg) if args.date else None)
    return 0


# -- parser -------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help="config file (default: $BAOCAO_CONFIG, else ./config.toml)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress to stderr")
    common.add_argument("--log-format", choices=["plain", "json"], default=argparse.SUPPRESS,
                        help="log lines as plain text (default) or one JSON object per line")

    parser = argparse.ArgumentParser(prog="baocao", parents=[common],
                                     description="Collects daily reports sent by email and sends "
                                                 "the coordinator one digest at the deadline.")
    parser.add_argument("--version", action="version", version=f"baocao {version()}")
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
    p.add_argument("--date", help="YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", parents=[common], help="the stored figures")
    p.add_argument("--date")
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
    p.add_argument("--force", action="store_true",
                   help="take the digest over from the instance holding it (says which), "
                        "without waiting for its lease to run out")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("run", parents=[common], help="the daemon: polls, digest on schedule")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("health", parents=[common],
                       help="exit 0 when polls succeed and no digest is overdue, else 1 with the reason")
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("backup", parents=[common],
                       help="a consistent copy of the database (SQLite), the archive and the config")
    p.add_argument("--out", required=True, metavar="FILE.tar.gz")
    p.add_argument("--keep", type=_at_least_one, metavar="N",
                   help="then keep only the N newest backups named like FILE (other dates) in its folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("reprocess", parents=[common],
                       help="re-read archived messages with the current config")
    p.add_argument("--from", dest="from_date")
    p.add_argument("--to", dest="to_date")
    p.add_argument("--unassigned", action="store_true", help="only messages not tied to a unit")
    p.set_defaults(func=cmd_reprocess)

    p = sub.add_parser("template", parents=[common], help="write the blank report form for units")
    p.add_argument("--unit", help="unit code: fill in the unit's name")
    p.add_argument("--out", required=True, metavar="F.xlsx")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("demo", parents=[common],
                       help="the whole pipeline on a throwaway local mailbox with generated reports")
    p.add_argument("--out", default="demo-output", help="folder for the outputs (default: demo-output)")
    p.add_argument("--date", help="the (past) reporting day to simulate (default: yesterday)")
    p.set_defaults(func=cmd_demo)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
