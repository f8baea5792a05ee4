"""Several reports stored: each figure under its report, the reports a message carries, a re-read replacing them."""

from __future__ import annotations

import datetime as dt

from service.config import Config
from service.ingest.analysis import analyse_message
from service.ingest.pipeline import analysis_rows, report_rows, routing_for, store_analysis
from storage.db import open_database
from storage.messages import rewrite_message
from storage.reports import report_values, reports_of
from tests.mailbuilders import XLSX, email_bytes
from tests.unit.test_report_filing import DAILY_COLUMNS, MONTHLY_COLUMNS, book
from tests.unit.test_report_filing import cfg as cfg  # noqa: F401 (the fixture)

NOW = dt.datetime(2021, 8, 18, 9, tzinfo=dt.UTC)
DAY = dt.date(2021, 8, 18)
ROWS = ("Hỗ trợ hộ kinh doanh", "Hỗ trợ hướng dẫn viên du lịch")


def test_a_message_with_two_reports_stores_each_figure_under_its_report(cfg: Config, db_url: str) -> None:
    sessions = open_database(db_url)
    raw = email_bytes(
        attachments=[("a.xlsx", XLSX, book(ROWS, DAILY_COLUMNS, 7)), ("b.xlsx", XLSX, book(ROWS, MONTHLY_COLUMNS, 9))]
    )
    analysis = analyse_message(raw, routing_for(cfg), DAY)
    with sessions() as session:
        stored = store_analysis(
            session, analysis, received_at=NOW, report_day=DAY, archive_path="x.eml", source="import", now=NOW
        )
        session.commit()
        assert reports_of(session, [stored.id]) == {stored.id: {"ngay": True, "thang": True}}
        assert report_values(session, [stored.id], "ngay")[stored.id]["ho_kinh_doanh"]["de_nghi"] == 7
        assert report_values(session, [stored.id], "thang")[stored.id]["ho_kinh_doanh"]["de_nghi"] == 9

        # read again with only the monthly file: the message now carries the monthly report alone
        again = analyse_message(
            email_bytes(attachments=[("b.xlsx", XLSX, book(ROWS, MONTHLY_COLUMNS, 9))]), routing_for(cfg), DAY
        )
        rewrite_message(session, stored.id, DAY, *analysis_rows(again, NOW), reports=report_rows(again))
        session.commit()
        assert reports_of(session, [stored.id]) == {stored.id: {"thang": True}}
        assert report_values(session, [stored.id], "ngay") == {}
