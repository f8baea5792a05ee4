"""Screenshots of a realistic digest (docs/digest.png) and its workbook (docs/workbook.png).

Two reporting days of generated reports (the product's own form, filled in with growing
cumulative figures, plus a scan, a failed check, a corrected resend, an unknown sender
and an auto-reply) go through the real reader into a throwaway SQLite database; the
digest is rendered from it exactly as it is sent. The HTML is photographed with headless
Chromium (full page, through the DevTools pipe; no network) and the workbook's first
page with LibreOffice (PDF, Vietnamese locale) and pdftoppm.

    .venv/bin/python scripts/screenshots.py [--config config.example.toml] [--out docs]

Needs the Debian packages chromium, libreoffice-calc and poppler-utils.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import fcntl
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.config import Config, load_config  # noqa: E402
from service.day.dayview import build_day_view  # noqa: E402
from service.demo.demo import report_email  # noqa: E402
from service.ingest.analysis import analyse_message  # noqa: E402
from service.ingest.pipeline import routing_for, store_analysis  # noqa: E402
from service.outputs.digest import render_digest  # noqa: E402
from service.outputs.template import render_form  # noqa: E402
from storage.db import open_database  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A one-page PDF with no text layer: what a scanned, signed report looks like to the reader.
SCANNED_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
DAY = dt.date(2021, 8, 13)
WIDTH = 1000  # CSS pixels: the digest is at most 900 px wide, as a desktop mail client shows it
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]
LIBREOFFICE_LOCALE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse">
<value>{locale}</value></prop></item>
</oor:items>
"""


# -- the scenario ------------------------------------------------------------------------------


def scenario(cfg: Config, day: dt.date, seed: int = 68) -> tuple[list[tuple[bytes, dt.datetime]], dict]:
    """Messages for the day before `day` and `day`, and what the digest should show."""
    rng = random.Random(seed)
    tz = cfg.service.timezone
    units = list(cfg.units)
    measures = cfg.form.measures
    counts = [m for m in measures if m.kind == "count"]
    moneys = [m for m in measures if m.kind == "money"]
    rates = [Decimal("1.5"), Decimal("3.71"), Decimal("1"), Decimal("2.5")]

    def sender(unit):
        return next((s for s in unit.senders if not s.startswith("*@")), unit.senders[0].replace("*@", "vanthu@"))

    # Cumulative figures per unit: requested >= approved >= paid, growing each day.
    state: dict[str, dict[str, dict[str, Decimal]]] = {}
    for unit in units:
        chosen = rng.sample(list(cfg.form.indicators), k=min(len(cfg.form.indicators), rng.randint(3, 6)))
        state[unit.code] = {}
        for ind in chosen:
            requested = rng.randint(15, 350)
            approved = rng.randint(requested * 3 // 4, requested)
            paid = rng.randint(approved // 2, approved)
            rate = rng.choice(rates) * 1_000_000
            row = {}
            for m, v in zip(counts, (requested, approved, paid)):
                row[m.code] = Decimal(v)
            for m, v in zip(moneys, (approved, paid)):
                row[m.code] = Decimal(v) * rate
            state[unit.code][ind.code] = row

    def grow(values):
        out = {}
        for ind, row in values.items():
            extra = rng.randint(1, 12)
            out[ind] = {
                m: v + (extra * (v / row[counts[0].code]) if row.get(counts[0].code) else extra) for m, v in row.items()
            }
            out[ind] = {
                m: v.quantize(Decimal(1))
                if m in {c.code for c in counts}
                else (v / 10_000).quantize(Decimal(1)) * 10_000
                for m, v in out[ind].items()
            }
        return out

    def report(unit, values, when, as_of, name=None):
        book = render_form(cfg, unit, values, as_of=as_of)
        subject = f"Báo cáo tiến độ NQ 68 ngày {when.day}/{when.month}/{when.year} - {unit.name}"
        return report_email(sender(unit), subject, when, [(name or f"BC_{unit.code}_{when:%d.%m.%Y}.xlsx", XLSX, book)])

    yesterday = day - dt.timedelta(days=1)
    never, silent, scan, failed_check, resend, as_of_lag = (
        units[-1],
        units[-2],
        units[-3],
        units[-4],
        units[7 % len(units)],
        units[1 % len(units)],
    )
    out: list[tuple[bytes, dt.datetime]] = []
    start = dt.datetime.combine(yesterday, dt.time(7, 50), tzinfo=tz)
    for i, unit in enumerate(units):
        if unit is never:
            continue
        when = start + dt.timedelta(minutes=23 * i + rng.randint(0, 12), seconds=rng.randint(0, 59))
        out.append((report(unit, state[unit.code], when, yesterday), when))
    start = dt.datetime.combine(day, dt.time(7, 45), tzinfo=tz)
    for i, unit in enumerate(units):
        if unit in (never, silent):
            continue
        when = start + dt.timedelta(minutes=24 * i + rng.randint(0, 12), seconds=rng.randint(0, 59))
        if unit is scan:
            out.append(
                (
                    report_email(
                        sender(unit),
                        f"Báo cáo ngày {day:%d/%m/%Y} (bản ký, đóng dấu)",
                        when,
                        [(f"BC {unit.code} {day:%d.%m}.pdf", "application/pdf", SCANNED_PDF)],
                    ),
                    when,
                )
            )
            continue
        values = grow(state[unit.code])
        if unit is failed_check and len(counts) >= 2:
            ind = next(iter(values))
            values[ind][counts[1].code] = values[ind][counts[0].code] + 3  # approved > requested
        if unit is resend:
            first = {k: dict(v) for k, v in values.items()}
            first[next(iter(first))][counts[0].code] += 1000  # a typo, corrected two hours later
            out.append((report(unit, first, when, day), when))
            when += dt.timedelta(hours=2, minutes=7)
        out.append((report(unit, values, when, yesterday if unit is as_of_lag else day), when))
        state[unit.code] = values
    stranger = dt.datetime.combine(day, dt.time(13, 41, 7), tzinfo=tz)
    out.append(
        (
            report_email(
                "ldtbxh.huyenkhac@example.org",
                f"Báo cáo tiến độ ngày {day:%d/%m/%Y} (gửi nhầm)",
                stranger,
                [("baocao_tiendo.xlsx", XLSX, render_form(cfg, None, state[units[0].code], as_of=day))],
            ),
            stranger,
        )
    )
    away = dt.datetime.combine(day, dt.time(10, 2, 41), tzinfo=tz)
    out.append(
        (
            report_email(
                sender(silent),
                "Trả lời tự động: Nhắc nộp báo cáo tiến độ",
                away,
                headers={"Auto-Submitted": "auto-replied"},
                body="Tôi đang đi công tác đến hết ngày 16/8.",
            ),
            away,
        )
    )
    reminders = [dt.datetime.combine(day, t, tzinfo=tz) for t in (cfg.schedule.reminders_at or (dt.time(10),))]
    return sorted(out, key=lambda x: x[1]), {
        "reminded": {silent.code: reminders, never.code: reminders},
        "unread": [(f"BC {scan.code} {day:%d.%m}.pdf", "application/pdf", SCANNED_PDF)],
    }


def build_digest(cfg: Config, day: dt.date, folder: Path):
    """Ingest the scenario into a fresh database under `folder`; return the rendered digest."""
    cfg = replace(
        cfg,
        service=replace(cfg.service, database_url=f"sqlite:///{folder / 'baocao.db'}", archive_dir=folder / "archive"),
    )
    sessions = open_database(cfg.service.database_url)
    routing = routing_for(cfg)
    messages, extra = scenario(cfg, day)
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        for i, (raw, when) in enumerate(messages):
            report_day = when.astimezone(cfg.service.timezone).date()
            analysis = analyse_message(raw, routing, report_day)
            store_analysis(
                session,
                analysis,
                received_at=when,
                report_day=report_day,
                archive_path=f"demo/{i}.eml",
                source="import",
                now=now,
            )
        session.commit()
        digest_time = dt.datetime.combine(day, cfg.schedule.digest_at, tzinfo=cfg.service.timezone)
        view = build_day_view(session, cfg, day, until=digest_time)
        previous = build_day_view(session, cfg, day - dt.timedelta(days=1))
        content = render_digest(
            view, cfg, now=digest_time, previous=previous, reminded=extra["reminded"], unread_files=extra["unread"]
        )
    sessions.kw["bind"].dispose()
    return content


# -- Chromium through the DevTools pipe ----------------------------------------------------------


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe (fds 3 and 4): no port, no network."""

    def __init__(self, browser: str, profile: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:
            # In the child: move both ends out of the way first (either may already be
            # 3 or 4), then onto the protocol's fixed descriptors, inheritable.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [
                browser,
                *BROWSER_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                f"--window-size={WIDTH},1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            close_fds=False,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium exited")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def screenshot_html(html: Path, png: Path) -> None:
    """The whole page, WIDTH CSS pixels wide, as tall as its content."""
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install -y --no-install-recommends chromium")
    with tempfile.TemporaryDirectory(prefix="baocao-chromium-") as profile:
        tools = DevTools(browser, profile)
        try:
            target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            tools.call("Page.enable", session=session)
            tools.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            tools.call("Page.navigate", {"url": html.resolve().as_uri()}, session)
            tools.wait_for("Page.loadEventFired")
            size = tools.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            height = int(size["height"]) + 1
            shot = tools.call(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
                },
                session,
            )
        finally:
            tools.close()
    png.write_bytes(base64.b64decode(shot["data"]))


# -- LibreOffice ---------------------------------------------------------------------------------


def screenshot_workbook(xlsx: Path, png: Path, locale: str) -> None:
    """The workbook's first printed page (A4 landscape, as set up in the file) at 80 dpi."""
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        raise SystemExit(
            "LibreOffice is not installed: apt-get install -y --no-install-recommends libreoffice-calc poppler-utils"
        )
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm is not installed: apt-get install -y poppler-utils")
    with tempfile.TemporaryDirectory(prefix="baocao-office-") as work:
        profile = Path(work) / "profile"
        (profile / "user").mkdir(parents=True)
        # Number formats follow the office locale: vi-VN shows 1.234,5 as a coordinator sees it.
        (profile / "user" / "registrymodifications.xcu").write_text(
            LIBREOFFICE_LOCALE.format(locale=locale), encoding="utf-8"
        )
        subprocess.run(
            [
                office,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={profile.as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                work,
                str(xlsx),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=180,
        )
        pdf = Path(work) / (xlsx.stem + ".pdf")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(Path(work) / "page")],
            check=True,
            timeout=60,
        )
        shutil.copyfile(Path(work) / "page.png", png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.example.toml"))
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for digest.png and workbook.png")
    parser.add_argument("--date", default=DAY.isoformat(), help="the digest's day (default %(default)s)")
    parser.add_argument("--keep", help="also keep the digest's .html, .txt and .xlsx in this folder")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, require_secrets=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baocao-screens-") as tmp:
        folder = Path(tmp)
        content = build_digest(cfg, dt.date.fromisoformat(args.date), folder)
        html = folder / "digest.html"
        html.write_text(content.html, encoding="utf-8")
        xlsx = folder / content.files[0].filename
        xlsx.write_bytes(content.files[0].data)
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(html, keep)
            shutil.copy(xlsx, keep)
            (keep / "digest.txt").write_text(content.text, encoding="utf-8")
        screenshot_html(html, out / "digest.png")
        screenshot_workbook(xlsx, out / "workbook.png", "vi-VN" if cfg.service.language == "vi" else "en-GB")
    print(f"{content.subject}\nwrote {out / 'digest.png'} and {out / 'workbook.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
