"""Several reports in one mailbox over two weeks: a daily, a weekly and a monthly report and a
one-off request, imported and then read back per report and period by `status` and `export`."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from service.cli import main
from tests.mailbuilders import XLSX, email_bytes
from tests.unit.test_config import SAMPLE_ENV
from tests.unit.test_report_filing import DAILY_COLUMNS, MONTHLY_COLUMNS, book
from tests.unit.test_reports_config import example_with_reports
from tests.unit.upward_forms import XLSX_COLUMNS, XLSX_DATA_ROWS, province_xlsx

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAILY_ROWS = ("Hỗ trợ đào tạo, bồi dưỡng, nâng cao trình độ kỹ năng nghề để duy trì việc làm", "Hỗ trợ hộ kinh doanh")
WEEKLY_ROWS = (
    "Hỗ trợ hộ kinh doanh",
    "Hỗ trợ người lao động không có giao kết hợp đồng lao động (lao động tự do)",
    "Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế",
)
ALL_COLUMNS = (*DAILY_COLUMNS, "Số đối tượng đã chi trả", "Số tiền đã chi trả (triệu đồng)")
BHXH, THUE = "bhxh.tp@example.gov.vn", "vanthu@thue.example.gov.vn"
DUONG_QUANG = "duongquang@example.gov.vn"


# The province's weekly form: its "Biểu 01" with the weekly policies in rows 12 and 13.
WEEKLY_FORM_ROWS = {**XLSX_DATA_ROWS, 12: "lao_dong_tu_do", 13: "tre_em_f0_f1"}


def weekly_xlsx() -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(province_xlsx()))
    ws = book["Biểu 01"]
    ws["B12"], ws["B13"] = WEEKLY_ROWS[1], WEEKLY_ROWS[2]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(2021, 8, day, hh, mm, ss, tzinfo=TZ7)


@pytest.fixture
def cfg_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], smtp: Any) -> Path:
    for name, value in SAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    text = example_with_reports(upward=True)  # the weekly report has its superior's form
    (tmp_path / "bieu-tuan-so-ldtbxh.xlsx").write_bytes(weekly_xlsx())
    text = re.sub(
        r"^\[smtp\]\n(?:.*\n)*?(?=\n)",
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "baocao@example.gov.vn"\n',
        text,
        count=1,
        flags=re.M,
    )
    text = re.sub(
        r"^database_url\s*=.*$", f'database_url = "sqlite:///{tmp_path / "db.sqlite3"}"', text, count=1, flags=re.M
    )
    text = re.sub(r"^archive_dir\s*=.*$", f'archive_dir = "{tmp_path / "archive"}"', text, count=1, flags=re.M)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    mails = [
        # the daily report: BHXH on time on the 16th, late on the 17th, nothing on the 18th
        (BHXH, "Báo cáo ngày 16/8", at(16, 10), book(DAILY_ROWS, DAILY_COLUMNS, 10)),
        (BHXH, "Báo cáo ngày 17/8", at(17, 15, 1), book(DAILY_ROWS, DAILY_COLUMNS, 12)),
        # the weekly report of the communes: on Wednesday for the week of 16-22/8, on the
        # Saturday after Friday's deadline for the week of 23-29/8
        (DUONG_QUANG, "Báo cáo", at(18, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 3)),
        (DUONG_QUANG, "Báo cáo", at(28, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 4)),
        # the monthly report, due on the 20th at 17:00: BHXH before, THUE after
        (BHXH, "Gửi số liệu", at(19, 8), book(DAILY_ROWS, MONTHLY_COLUMNS, 20)),
        (THUE, "Gửi số liệu", at(25, 8), book(DAILY_ROWS, MONTHLY_COLUMNS, 30)),
        # the one-off request, due 20/8 at 17:00: BHXH within the minute
        (BHXH, "Báo cáo nhanh đến ngày 20/8", at(20, 17, 0, 59), book(("Hỗ trợ hộ kinh doanh",), ALL_COLUMNS, 7)),
    ]
    files = []
    for i, (sender, subject, when, data) in enumerate(mails):
        f = tmp_path / f"m{i}.eml"
        f.write_bytes(email_bytes(sender=sender, subject=subject, date=when, attachments=[("bc.xlsx", XLSX, data)]))
        files.append(str(f))
    assert main(["import", "--config", str(path), *files]) == 0
    capsys.readouterr()
    return path


def import_mails(
    cfg_file: Path,
    capsys: pytest.CaptureFixture[str],
    mails: list[tuple[str, str, dt.datetime, list[tuple[str, str, bytes]]]],
    prefix: str,
) -> None:
    """`baocao import` of (sender, subject, received, attachments) written as .eml files."""
    files = []
    for i, (sender, subject, when, attachments) in enumerate(mails):
        f = cfg_file.parent / f"{prefix}{i}.eml"
        f.write_bytes(email_bytes(sender=sender, subject=subject, date=when, attachments=attachments))
        files.append(str(f))
    assert main(["import", "--config", str(cfg_file), *files]) == 0
    capsys.readouterr()


# The monthly report made the departments' alone (config.example's monthly report has
# no `units`): what a commune sends on its form is then no report of the commune.
MONTHLY_FOR_DEPARTMENTS = (
    '\nmeasures = ["de_nghi", "da_chi", "tien_da_chi"]',
    '\nunits = ["BHXH", "THUE"]\nmeasures = ["de_nghi", "da_chi", "tien_da_chi"]',
)


def export(cfg_file: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["export", "--config", str(cfg_file), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {u["code"]: u["status"] for u in doc["units"]}


def test_the_daily_report_counts_only_daily_forms(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day16 = export(cfg_file, capsys, "--report", "ngay", "--date", "2021-08-16")
    assert day16["report"] == "ngay" and day16["period"] == {"start": "2021-08-16", "end": "2021-08-16"}
    assert statuses(day16)["BHXH"] == "on_time" and len(day16["units"]) == 14
    assert day16["totals"]["ho_kinh_doanh"] == {"de_nghi": 10, "phe_duyet": 10, "kinh_phi": 10_000_000}
    assert statuses(export(cfg_file, capsys, "--date", "2021-08-17"))["BHXH"] == "late"  # the only daily report
    day18 = export(cfg_file, capsys, "--report", "ngay", "--date", "2021-08-18")
    # BHXH sent nothing daily that day (its monthly report came the 19th); the commune's weekly is not a daily
    assert statuses(day18)["BHXH"] == "missing" and statuses(day18)["DUONG_QUANG"] == "missing"
    assert day18["totals"]["ho_kinh_doanh"]["de_nghi"] == 12  # cumulative: the 17th's figures, stale
    assert statuses(export(cfg_file, capsys, "--report", "ngay", "--date", "2021-08-19"))["BHXH"] == "missing"


def test_the_weekly_report_counts_for_the_week_it_was_sent_in(
    cfg_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    week = export(cfg_file, capsys, "--report", "tuan", "--date", "2021-08-22")
    assert week["period"] == {"start": "2021-08-16", "end": "2021-08-22"}
    assert week["deadline"] == "2021-08-20T16:00:00+07:00"
    # the communes alone send it: the departments are not in it
    assert "BHXH" not in statuses(week) and {"DUONG_QUANG", "NONG_THUONG", "XUAT_HOA"} <= statuses(week).keys()
    assert {code: s for code, s in statuses(week).items() if s != "missing"} == {"DUONG_QUANG": "on_time"}
    assert week["totals"]["ho_kinh_doanh"]["de_nghi"] == 3
    both = export(cfg_file, capsys, "--report", "tuan", "--from", "2021-08-16", "--to", "2021-08-29")
    assert [d["period"]["start"] for d in both["days"]] == ["2021-08-16", "2021-08-23"]
    assert [statuses(d)["DUONG_QUANG"] for d in both["days"]] == ["on_time", "late"]


def test_the_monthly_report_and_the_one_off_request(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    month = export(cfg_file, capsys, "--report", "thang", "--date", "2021-08-05")
    assert month["period"] == {"start": "2021-08-01", "end": "2021-08-31"}
    assert month["deadline"] == "2021-08-20T17:00:00+07:00"
    assert statuses(month)["BHXH"] == "on_time" and statuses(month)["THUE"] == "late"
    assert statuses(month)["XUAT_HOA"] == "missing"
    assert month["totals"]["ho_kinh_doanh"] == {
        "de_nghi": 50,
        "da_chi": 50,
        "tien_da_chi": 50_000_000,
        "kinh_phi_con_lai": 50_000_000,
    }
    once = export(cfg_file, capsys, "--report", "nhanh_2008", "--date", "2021-08-20")
    assert statuses(once) == {"BHXH": "on_time", "THUE": "missing"}
    assert once["totals"] == {
        "ho_kinh_doanh": {
            m: (7_000_000 if "tien" in m or m == "kinh_phi" else 7) for m in once["totals"]["ho_kinh_doanh"]
        }
    }


def test_an_answer_to_the_one_off_request_after_its_deadline_day_is_late_for_it(
    cfg_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = [("bc.xlsx", XLSX, book(("Hỗ trợ hộ kinh doanh",), ALL_COLUMNS, 5))]
    import_mails(cfg_file, capsys, [(THUE, "Báo cáo nhanh đến ngày 20/8", at(21, 9), late)], "late")
    once = export(cfg_file, capsys, "--report", "nhanh_2008", "--date", "2021-08-20")
    assert statuses(once) == {"BHXH": "on_time", "THUE": "late"}  # not "missing": it was sent, a day late
    thue = next(u for u in once["units"] if u["code"] == "THUE")
    assert thue["received_at"] == "2021-08-21T09:00:00+07:00"
    assert once["totals"]["ho_kinh_doanh"]["de_nghi"] == 12


def test_status_and_template_name_the_report_and_period(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["status", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-25"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Báo cáo tuần — tuần 23/08–29/08/2021\nHạn nộp 16:00 27/08/2021\n")
    [row] = [line for line in out.splitlines() if line.startswith("DUONG_QUANG ")]
    assert "Muộn" in row and "09:00 28/08" in row  # the day of an arrival in the week
    assert out.rstrip().endswith("Bản tổng hợp kỳ này chưa được gửi.")
    assert main(["status", "--config", str(cfg_file), "--report", "ngay", "--date", "2021-08-17"]) == 0
    out = capsys.readouterr().out  # a day's report: the day's table as without [[reports]]
    assert out.startswith("Báo cáo tiến độ hằng ngày — ngày 17/08/2021\nNgày 17/08/2021 — hạn nộp 15:00\n")
    assert "15:01 " in out and "15:01 17/08" not in out and "Bản tổng hợp ngày này chưa được gửi." in out
    assert main(["status", "--config", str(cfg_file), "--report", "quy"]) == 2
    assert "no report 'quy'; the reports are: ngay, tuan, thang, nhanh_2008" in capsys.readouterr().err

    import openpyxl

    out_file = tmp_path / "tuan.xlsx"
    assert main(["template", "--config", str(cfg_file), "--report", "tuan", "--out", str(out_file)]) == 0
    ws = openpyxl.load_workbook(out_file).active
    assert ws.title == "Báo cáo (tuan)" and ws["A4"].value == "BÁO CÁO TUẦN"
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("trước 16:00 Thứ Sáu hằng tuần" in t for t in texts)
    assert (
        main(["template", "--config", str(cfg_file), "--report", "tuan", "--unit", "BHXH", "--out", str(out_file)]) == 2
    )
    capsys.readouterr()
    # --date names the report's period containing it, under the title
    args = ["template", "--config", str(cfg_file), "--report", "thang", "--date", "2021-08-18", "--out", str(out_file)]
    assert main(args) == 0
    assert "for tháng 8/2021" in capsys.readouterr().out
    ws = openpyxl.load_workbook(out_file).active
    assert ws.title == "Báo cáo (thang)" and ws["A4"].value == "BÁO CÁO THÁNG\nKỳ báo cáo: tháng 8/2021"


def test_reprocess_rereads_the_days_of_a_reports_period(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = export(cfg_file, capsys, "--report", "tuan", "--date", "2021-08-18")
    assert main(["reprocess", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-18"]) == 0
    # the five messages of 16-22/8 (whatever report they carry), none changed
    assert "Reprocessed 5 message(s) with the current configuration; 0 changed." in capsys.readouterr().out
    assert export(cfg_file, capsys, "--report", "tuan", "--date", "2021-08-18") == before
    assert main(["reprocess", "--config", str(cfg_file), "--report", "tuan"]) == 2
    assert "--report goes with --date" in capsys.readouterr().err
    assert main(["reprocess", "--config", str(cfg_file), "--report", "quy"]) == 2  # the codes, not the usage
    assert capsys.readouterr().err == "baocao: no report 'quy'; the reports are: ngay, tuan, thang, nhanh_2008\n"


def test_a_reports_digest_is_built_for_its_period(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "digest"
    assert (
        main(
            [
                "digest",
                "--config",
                str(cfg_file),
                "--report",
                "tuan",
                "--date",
                "2021-08-18",
                "--dry-run",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    said = capsys.readouterr().out
    assert said.startswith(
        "Digest of tuan for tuần 16/08–22/08/2021 built, not sent: Tổng hợp báo cáo tuần tuần 16/08–22/08/2021"
    )
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "Tổng hợp: Báo cáo tuần — tuần 16/08–22/08/2021" in html and "16:00 20/08/2021" in html
    assert "UBND xã Dương Quang" in html and "Bảo hiểm xã hội thành phố" not in html


def test_each_reports_digest_goes_once_per_period_to_its_recipients(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], smtp: Any
) -> None:
    for _ in range(2):
        assert main(["digest", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-18"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith(
        "tuan, tuần 16/08–22/08/2021: Digest for 16/08/2021 sent to lanhdao.ldtbxh@example.gov.vn"
    )
    assert "was already sent" in said[1]
    assert main(["status", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-22", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digest"]["state"] == "sent"
    assert main(["status", "--config", str(cfg_file), "--report", "ngay", "--date", "2021-08-22", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digest"] is None  # not that day's
    assert main(["digest", "--config", str(cfg_file), "--report", "thang", "--date", "2021-08-31"]) == 0
    assert main(["digest", "--config", str(cfg_file), "--report", "ngay", "--date", "2021-08-16"]) == 0
    sent = [m for m in smtp.messages if "baocao@example.gov.vn" not in m.rcpt_tos or len(m.rcpt_tos) > 1]
    subjects = [re.search(rb"^Subject: (.*)$", m.data, re.M) for m in sent]
    assert len(sent) == 3 and all(subjects)
    assert sent[0].rcpt_tos[:2] == ["lanhdao.ldtbxh@example.gov.vn", "dieuphoi.ldtbxh@example.gov.vn"]  # to, cc
    assert "lanhdao.ldtbxh@example.gov.vn" not in sent[1].rcpt_tos
    assert "dieuphoi.ldtbxh@example.gov.vn" in sent[1].rcpt_tos  # the monthly report's digest goes to [digest] to


def test_the_daemon_finds_each_reports_digests_due_on_their_own_schedule(cfg_file: Path) -> None:
    from service.config import load_config
    from service.schedule.daemon import due_report_digests

    cfg = load_config(cfg_file)
    tz = cfg.service.timezone

    def due(when: dt.datetime) -> set[tuple[str, str]]:
        return {(p.report, p.start.isoformat()) for _, p in due_report_digests(cfg, when)}

    friday = due(dt.datetime(2021, 8, 20, 17, 0, tzinfo=tz))  # the weekly one's time; the monthly and one-off at 17:00
    assert {("tuan", "2021-08-16"), ("thang", "2021-08-01"), ("nhanh_2008", "2021-08-18")} <= friday
    assert ("ngay", "2021-08-20") in friday and ("ngay", "2021-08-17") in friday  # the catch-up window
    assert ("tuan", "2021-08-16") not in due(dt.datetime(2021, 8, 20, 16, 59, tzinfo=tz))
    assert ("thang", "2021-08-01") not in due(dt.datetime(2021, 8, 20, 16, 59, tzinfo=tz))
    later = due(dt.datetime(2021, 8, 30, 9, 0, tzinfo=tz))
    assert ("tuan", "2021-08-23") in later and ("tuan", "2021-08-16") not in later  # the 27th's; the 20th's is past


def test_the_weekly_reports_superiors_form_is_filled_from_its_period(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    week = export(cfg_file, capsys, "--report", "tuan", "--date", "2021-08-18")
    totals = week["totals"]
    assert totals["ho_kinh_doanh"]["de_nghi"] == 3 and totals["ho_kinh_doanh"]["tien_da_chi"] == 3_000_000
    out = tmp_path / "bieu-tuan.xlsx"
    args = ["upward", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-18", "--out", str(out)]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "Đã điền 15 ô của biểu mẫu cấp trên bieu-tuan-so-ldtbxh.xlsx" in said and str(out) in said
    assert "Chưa điền được" in said  # the province's rows the weekly report does not have are listed
    ws = openpyxl.load_workbook(out)["Biểu 01"]
    for row, indicator in WEEKLY_FORM_ROWS.items():  # the week's totals, cell by cell, in each column's scale
        for col, (measure, scale) in XLSX_COLUMNS.items():
            value = totals.get(indicator or "", {}).get(measure)
            cell = ws[f"{col}{row}"]
            assert cell.value == (None if value is None else value / scale), cell.coordinate
    assert [ws[f"{c}{r}"].value for r in (12, 13, 16) for c in "CDEFG"] == [3] * 15
    assert ws["C14"].value is None  # a row the weekly report does not have: left empty, listed
    assert ws["A6"].value == "(Số liệu tính đến ngày 22/08/2021)"  # the period's last day
    assert ws["F21"].value == "Bắc Kạn, ngày 22 tháng 8 năm 2021"
    # the next week: the figures of its own period (sent late on Saturday the 28th)
    assert main([*args[:-4], "--date", "2021-08-27", "--out", str(out)]) == 0
    capsys.readouterr()
    ws = openpyxl.load_workbook(out)["Biểu 01"]
    assert [ws[f"{c}16"].value for c in "CDEFG"] == [4, 4, 4, 4, 4] and ws["A6"].value.endswith("29/08/2021)")
    # its digest attaches it; the daily report has no such form, and says so
    digest = tmp_path / "digest"
    assert main(["digest", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-18", "--dry-run",
                 "--out", str(digest)]) == 0  # fmt: skip
    capsys.readouterr()
    attached = openpyxl.load_workbook(digest / "bieu-tuan-2021-08-16.xlsx")["Biểu 01"]
    assert [attached[f"{c}16"].value for c in "CDEFG"] == [3, 3, 3, 3, 3]
    assert b"bieu-tuan-2021-08-16.xlsx" in next(digest.glob("*.eml")).read_bytes()
    assert main(["upward", "--config", str(cfg_file), "--report", "ngay", "--out", str(out)]) == 2
    assert "the report 'ngay'" in capsys.readouterr().err


def test_a_weekly_form_split_into_this_week_and_the_year_to_date(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The weekly report made not cumulative (each week's own figures): "Tuần này" takes
    the week's, "Lũy kế từ đầu năm" the sum of its weeks since the campaign began; made
    cumulative again, "Tuần này" is the change over the unit's report of the week before."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Biểu 01"
    ws.append(["TT", "Chính sách", "Số đối tượng đề nghị hỗ trợ", None, "Số tiền đã chi trả (nghìn đồng)", None])
    ws.append([None, None, "Tuần này", "Lũy kế từ đầu năm", "Trong kỳ", "Lũy kế"])
    for ref in ("A1:A2", "B1:B2", "C1:D1", "E1:F1"):
        ws.merge_cells(ref)
    ws.append(["1", WEEKLY_ROWS[0]])
    ws.append(["2", WEEKLY_ROWS[1]])
    book.save(tmp_path / "bieu-tuan-so-ldtbxh.xlsx")
    text = cfg_file.read_text(encoding="utf-8")
    cfg_file.write_text(text.replace('code = "tuan"\n', 'code = "tuan"\ncumulative = false\n', 1), encoding="utf-8")
    out = tmp_path / "bieu-tuan.xlsx"
    args = ["upward", "--config", str(cfg_file), "--report", "tuan", "--out", str(out)]
    assert main([*args, "--date", "2021-08-18"]) == 0
    cells = [[c.value for c in row] for row in openpyxl.load_workbook(out).active.iter_rows(min_row=3)]
    assert [r[2:] for r in cells] == [[3, 3, 3000, 3000]] * 2  # the first week: 3 in the week, 3 to date
    assert main([*args, "--date", "2021-08-27"]) == 0
    cells = [[c.value for c in row] for row in openpyxl.load_workbook(out).active.iter_rows(min_row=3)]
    assert [r[2:] for r in cells] == [[4, 7, 4000, 7000]] * 2  # the second: 4 in the week, 3 + 4 to date
    assert "là số lũy kế" not in capsys.readouterr().out  # every split column filled
    digest = tmp_path / "digest"  # the digest attaches the same (the figures to date read by the dispatcher)
    assert main(["digest", "--config", str(cfg_file), "--report", "tuan", "--date", "2021-08-27", "--dry-run",
                 "--out", str(digest)]) == 0  # fmt: skip
    capsys.readouterr()
    attached = openpyxl.load_workbook(digest / "bieu-tuan-2021-08-23.xlsx").active
    assert [[c.value for c in row][2:] for row in attached.iter_rows(min_row=3)] == [[4, 7, 4000, 7000]] * 2
    cfg_file.write_text(text, encoding="utf-8")  # cumulative (the default): 4 to date, 4 - 3 in the week
    assert main([*args, "--date", "2021-08-27"]) == 0
    cells = [[c.value for c in row] for row in openpyxl.load_workbook(out).active.iter_rows(min_row=3)]
    assert [r[2:] for r in cells] == [[1, 4, 1000, 4000]] * 2


def test_the_acknowledgement_names_the_report_and_its_period(cfg_file: Path, smtp: Any) -> None:
    import email
    from email import policy

    from sqlalchemy import update

    from service.cli import ingestor_for
    from service.config import load_config
    from service.schedule.outbox import acknowledge
    from storage.models import Message

    text = cfg_file.read_text(encoding="utf-8")
    cfg_file.write_text(
        re.sub(r"^(\[acknowledgements\]\n(?:#.*\n)*)enabled = false", r"\1enabled = true", text, flags=re.M),
        encoding="utf-8",
    )
    cfg = load_config(cfg_file)
    assert cfg.acknowledgements.enabled and cfg.reports
    before = len(smtp.messages)
    with ingestor_for(cfg) as ing:
        with ing.sessions() as session:  # as if polled: imported files are never answered
            session.execute(update(Message).values(source="imap"))
            session.commit()
        # two days after the commune's weekly report of the 28th (the earlier ones are past replying to)
        acknowledge(cfg, ing.sessions, ing.archive, at(29, 8))
    replies = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages[before:]]
    assert [r["To"] for r in replies] == [DUONG_QUANG]
    body = replies[0].get_body(("plain",)).get_content()
    assert "Báo cáo tuần, tuần 23/08–29/08/2021: đã nhận MUỘN (hạn nộp 16:00 27/08/2021)" in body


def _acknowledge(cfg_file: Path, smtp: Any, capsys: pytest.CaptureFixture[str], mails: list[Any], now: dt.datetime):
    """Import `mails` as if polled, acknowledge at `now` through the outbox; the replies sent."""
    import email
    from email import policy

    from sqlalchemy import update

    from service.cli import ingestor_for
    from service.config import load_config
    from service.schedule.outbox import acknowledge
    from storage.models import Message

    import_mails(cfg_file, capsys, mails, "ack")
    cfg = load_config(cfg_file)
    before = len(smtp.messages)
    with ingestor_for(cfg) as ing:
        with ing.sessions() as session:  # as if polled: imported files are never answered
            session.execute(update(Message).values(source="imap"))
            session.commit()
        acknowledge(cfg, ing.sessions, ing.archive, now)
    return [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages[before:]]


def _figure(table: str, label: str) -> str:
    """The first figure of `label` in an acknowledgement's text table ("label ..... 11")."""
    found = re.search(rf"^ +{re.escape(label)}[^.\n]* \.+ (.+)$", table, re.M)
    assert found, label
    return found.group(1)


def _with_acknowledgements(cfg_file: Path, *subs: tuple[str, str]) -> None:
    text = cfg_file.read_text(encoding="utf-8")
    text = re.sub(r"^(\[acknowledgements\]\n(?:#.*\n)*)enabled = false", r"\1enabled = true", text, flags=re.M)
    for old, new in subs:
        assert old in text
        text = text.replace(old, new, 1)
    cfg_file.write_text(text, encoding="utf-8")


def test_an_acknowledgement_shows_each_reports_figures_in_its_own_form(
    cfg_file: Path, smtp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_acknowledgements(cfg_file)
    # BHXH on Monday 30/8: its daily report and a corrected monthly one in one message; the
    # column "Số đối tượng đề nghị hỗ trợ" is in both forms, with different figures
    two = [
        ("ngay.xlsx", XLSX, book(DAILY_ROWS, DAILY_COLUMNS, 11)),
        ("thang.xlsx", XLSX, book(DAILY_ROWS, MONTHLY_COLUMNS, 40)),
    ]
    [reply] = _acknowledge(cfg_file, smtp, capsys, [(BHXH, "Báo cáo", at(30, 9), two)], at(30, 10))
    assert reply["To"] == BHXH
    text = reply.get_body(("plain",)).get_content()
    assert "Báo cáo tiến độ hằng ngày, ngày 30/08/2021: đã nhận ĐÚNG HẠN (hạn nộp 15:00 30/08/2021)" in text
    # the monthly report: on time by the first one of the month (19/8), which this one replaces
    assert "Báo cáo tháng, tháng 8/2021: đã nhận ĐÚNG HẠN (hạn nộp 17:00 20/08/2021)" in text
    assert "Báo cáo tháng: báo cáo này THAY THẾ báo cáo đơn vị gửi lúc 08:00 ngày 19/08/2021." in text
    daily, monthly = text.split("CẦN KIỂM TRA LẠI")[0].split("SỐ LIỆU ĐÃ ĐỌC ĐƯỢC — ")[1:]
    assert daily.startswith("Báo cáo tiến độ hằng ngày, ngày 30/08/2021 (số lũy kế; kinh phí: triệu đồng)")
    assert monthly.startswith("Báo cáo tháng, tháng 8/2021 (số lũy kế; kinh phí: triệu đồng)")
    # each table has its own report's columns and figures
    assert _figure(daily, "Số đối tượng đề nghị hỗ trợ") == "11" and "Số đối tượng được phê duyệt" in daily
    assert "Số tiền đã chi trả" not in daily and "Kinh phí còn lại" not in daily
    assert _figure(monthly, "Số đối tượng đề nghị hỗ trợ") == "40" and _figure(monthly, "Kinh phí còn lại") == "40"
    assert "Số đối tượng được phê duyệt" not in monthly
    # a cumulative figure lower than the same report's previous one (the daily 12 of 17/8), not the monthly's
    problems = text.split("CẦN KIỂM TRA LẠI")[1]
    assert "17/08/2021" in problems and "19/08/2021" not in problems
    html = reply.get_body(("html",)).get_content()
    assert "Số liệu đã đọc được: Báo cáo tiến độ hằng ngày, ngày 30/08/2021" in html
    assert "Số liệu đã đọc được: Báo cáo tháng, tháng 8/2021" in html
    from service.config import load_config

    cfg = load_config(cfg_file)
    ngay, thang = (len(cfg.report(code).form.measures) for code in ("ngay", "thang"))
    assert html.count("<th") == 2 + ngay + 2 + thang  # STT, Chỉ tiêu and the report's columns, per table


def test_a_message_matching_no_report_is_acknowledged_with_the_reason(
    cfg_file: Path, smtp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # the monthly report only for the departments: its own column means nothing from a commune
    _with_acknowledgements(cfg_file, MONTHLY_FOR_DEPARTMENTS)
    lone = [("bc.xlsx", XLSX, book(("Hỗ trợ hộ kinh doanh",), ("Kinh phí còn lại (triệu đồng)",), 5))]
    [reply] = _acknowledge(cfg_file, smtp, capsys, [(DUONG_QUANG, "Số liệu", at(30, 9), lone)], at(30, 10))
    text = reply.get_body(("plain",)).get_content()
    assert "Thư này không khớp với báo cáo nào đơn vị phải gửi" in text
    assert "Tệp bc.xlsx: số liệu không khớp với mẫu báo cáo nào đơn vị phải gửi" in text
    assert "Báo cáo tiến độ hằng ngày (ngay), Báo cáo tuần (tuan)" in text  # the reports it could have been
    assert "ĐÚNG HẠN" not in text and "MUỘN" not in text and "SỐ LIỆU ĐÃ ĐỌC ĐƯỢC" not in text
    [form] = [p for p in reply.iter_attachments() if p.get_filename().endswith(".xlsx")]
    ws = openpyxl.load_workbook(io.BytesIO(form.get_content())).active
    assert ws.title == "Báo cáo (ngay)"  # the blank form of the unit's daily report, for the day
    assert ws["A4"].value.endswith("\nKỳ báo cáo: ngày 30/08/2021")


def test_in_a_week_the_first_readable_times_it_and_the_latest_readable_gives_the_figures(
    cfg_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = ("bc.xlsx", XLSX, b"not a workbook")
    mails = [
        # XUAT_HOA: on Monday, corrected on Tuesday, then an unreadable file on Saturday
        ("xuathoa@example.gov.vn", "Báo cáo", at(23, 9), [("bc.xlsx", XLSX, book(WEEKLY_ROWS, ALL_COLUMNS, 5))]),
        ("xuathoa@example.gov.vn", "Báo cáo", at(24, 9), [("bc.xlsx", XLSX, book(WEEKLY_ROWS, ALL_COLUMNS, 6))]),
        ("xuathoa@example.gov.vn", "Báo cáo tuần", at(28, 9), [broken]),
        # NONG_THUONG: only an unreadable weekly report
        ("nongthuong@example.gov.vn", "Báo cáo tuần", at(24, 9), [broken]),
        # SONG_CAU: a table that is none of its reports (the monthly report's own column, the
        # monthly report here being the departments' alone)
        (
            "songcau@example.gov.vn",
            "Số liệu",
            at(24, 9),
            [("bc.xlsx", XLSX, book(("Hỗ trợ hộ kinh doanh",), ("Kinh phí còn lại (triệu đồng)",), 5))],
        ),
    ]
    text = cfg_file.read_text(encoding="utf-8")
    cfg_file.write_text(text.replace(*MONTHLY_FOR_DEPARTMENTS, 1), encoding="utf-8")
    import_mails(cfg_file, capsys, mails, "w")
    week = export(cfg_file, capsys, "--report", "tuan", "--date", "2021-08-29")
    units = {u["code"]: u for u in week["units"]}
    assert statuses(week)["XUAT_HOA"] == "on_time" and statuses(week)["DUONG_QUANG"] == "late"
    assert statuses(week)["NONG_THUONG"] == "unreadable"
    assert week["totals"]["ho_kinh_doanh"]["de_nghi"] == 6 + 4  # XUAT_HOA's Tuesday correction and DUONG_QUANG
    # the table that is no report of SONG_CAU: shown with its reason, counted for nothing
    song_cau = units["SONG_CAU"]
    assert song_cau["status"] != "on_time" and not song_cau.get("figures")
    assert any(p["code"] == "report_unmatched" for p in song_cau["problems"]), song_cau
    daily = export(cfg_file, capsys, "--report", "ngay", "--date", "2021-08-24")
    assert statuses(daily)["XUAT_HOA"] == "missing"  # a weekly report is not the daily one
    # it could be any report SONG_CAU sends in a period containing its day: the daily one of the 24th too
    assert statuses(daily)["SONG_CAU"] == "unreadable"
    assert any(p["code"] == "report_unmatched" for p in {u["code"]: u for u in daily["units"]}["SONG_CAU"]["problems"])
    # never the daily report of another day
    for other in ("2021-08-23", "2021-08-25"):
        day = {u["code"]: u for u in export(cfg_file, capsys, "--report", "ngay", "--date", other)["units"]}
        assert day["SONG_CAU"]["status"] == "missing" and not day["SONG_CAU"].get("problems"), other
    # its reminders spare whom the view shows as having sent it, and no one else
    assert _spared(cfg_file, "tuan", dt.date(2021, 8, 24)) == {"XUAT_HOA", "DUONG_QUANG", "NONG_THUONG", "SONG_CAU"}
    assert {"SONG_CAU"} <= _spared(cfg_file, "ngay", dt.date(2021, 8, 24))
    assert "SONG_CAU" not in _spared(cfg_file, "ngay", dt.date(2021, 8, 25))


def test_a_document_tied_between_two_reports_stands_under_those_two_alone(
    cfg_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the one-off request on the communes' weekly form: a weekly form whose subject names
    # neither is either of them (the one-off is open 18-20/8)
    text = cfg_file.read_text(encoding="utf-8")
    nhanh = 'units = ["BHXH", "THUE"]\nindicators = ["ho_kinh_doanh"]\n'
    assert text.count(nhanh) == 1
    weekly = 'units = ["Xã, phường"]\nindicators = ["ho_kinh_doanh", "lao_dong_tu_do", "tre_em_f0_f1"]\n'
    cfg_file.write_text(text.replace(nhanh, weekly), encoding="utf-8")
    tied = ("bc tuan.xlsx", XLSX, book(WEEKLY_ROWS, ALL_COLUMNS, 5))
    f = cfg_file.parent / "tied.eml"
    f.write_bytes(email_bytes(sender="songcau@example.gov.vn", subject="Số liệu", date=at(19, 9), attachments=[tied]))
    assert main(["import", "--config", str(cfg_file), str(f)]) == 0
    capsys.readouterr()
    for report, date in (("tuan", "2021-08-19"), ("nhanh_2008", "2021-08-19")):
        doc = export(cfg_file, capsys, "--report", report, "--date", date)
        song_cau = {u["code"]: u for u in doc["units"]}["SONG_CAU"]
        assert song_cau["status"] == "unreadable" and not song_cau.get("figures"), report
        [problem] = [p for p in song_cau["problems"] if p["code"] == "report_undetermined"]
        assert "bc tuan.xlsx" in problem["message"], problem
        assert "Báo cáo tuần (tuan)" in problem["message"] and "(nhanh_2008)" in problem["message"], problem
        assert "SONG_CAU" in _spared(cfg_file, report, dt.date(2021, 8, 19))
    # not the daily report of that day: that form it cannot be
    daily = {u["code"]: u for u in export(cfg_file, capsys, "--report", "ngay", "--date", "2021-08-19")["units"]}
    assert daily["SONG_CAU"]["status"] == "missing" and not daily["SONG_CAU"].get("problems")
    assert "SONG_CAU" not in _spared(cfg_file, "ngay", dt.date(2021, 8, 19))
    # a unit the view shows as having sent the report is the one its reminders spare
    for report, date in (("tuan", "2021-08-19"), ("nhanh_2008", "2021-08-19"), ("ngay", "2021-08-19")):
        doc = export(cfg_file, capsys, "--report", report, "--date", date)
        shown = {code for code, s in statuses(doc).items() if s in ("on_time", "late", "unreadable")}
        assert _spared(cfg_file, report, dt.date(2021, 8, 19)) & set(statuses(doc)) == shown, report


def _spared(cfg_file: Path, report: str, day: dt.date) -> set[str]:
    """The units a reminder of `report` in the period containing `day` would spare at the period's end."""
    from service.config import load_config
    from service.day.periods import period_of
    from storage.db import open_database
    from storage.reports import units_with_report

    cfg = load_config(cfg_file)
    period = period_of(cfg.report(report), day, cfg.service.timezone)
    sessions = open_database(cfg.service.database_url)
    try:
        with sessions() as s:
            end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(0), tzinfo=period.deadline.tzinfo)
            return units_with_report(s, report, period.start, period.end, end)
    finally:
        sessions.kw["bind"].dispose()
