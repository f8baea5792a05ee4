"""Several reports stored: each figure under its report, the reports a message carries, a re-read replacing them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.config import Config
from service.ingest.analysis import analyse_message
from service.ingest.pipeline import analysis_rows, report_rows, routing_for, store_analysis
from storage.db import open_database
from storage.messages import messages_by_ids, replace_reading, rewrite_message
from storage.models import Attachment, ProblemRow
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


def test_a_reading_replaced_without_the_orm_is_the_one_rewritten_through_it(cfg: Config, db_url: str) -> None:
    """`replace_reading` (a recognised message's full reading, by the poll) stores what
    `rewrite_message` (reprocessing) stores, and touches no other message."""
    sessions = open_database(db_url)
    routing = routing_for(cfg)
    both = [("a.xlsx", XLSX, book(ROWS, DAILY_COLUMNS, 7)), ("b.xlsx", XLSX, book(ROWS, MONTHLY_COLUMNS, 9))]
    first = [analyse_message(email_bytes(attachments=both, subject=f"s{i}"), routing, DAY) for i in range(3)]
    again = analyse_message(email_bytes(attachments=[both[1]]), routing, DAY)
    with sessions() as session:
        ids = [
            store_analysis(
                session, a, received_at=NOW, report_day=DAY, archive_path=f"{i}.eml", source="import", now=NOW
            ).id
            for i, a in enumerate(first)
        ]
        session.commit()
    with sessions() as session:
        rewrite_message(session, ids[0], DAY, *analysis_rows(again, NOW), reports=report_rows(again))
        replace_reading(session, ids[1], DAY, *analysis_rows(again, NOW), reports=report_rows(again))
        session.commit()
    with sessions() as session:
        rewritten, replaced, untouched = messages_by_ids(session, ids)
        assert reports_of(session, ids) == {
            ids[0]: {"thang": True},
            ids[1]: {"thang": True},
            ids[2]: {"ngay": True, "thang": True},
        }
        for name in ("kind", "unit_code", "reason", "readable", "as_of", "unit_text", "report_day"):
            assert getattr(replaced, name) == getattr(rewritten, name)
        figures = {(f.indicator, f.measure, f.value) for f in rewritten.figures}
        assert figures and {(f.indicator, f.measure, f.value) for f in replaced.figures} == figures
        assert len(untouched.figures) > len(figures)
    with sessions() as session:

        def rows(model, pk):
            return sorted(
                tuple(v for k, v in vars(r).items() if k not in ("_sa_instance_state", "id", "message_pk"))
                for r in session.scalars(select(model).where(model.message_pk == pk))
            )

        for model in (Attachment, ProblemRow):
            assert rows(model, ids[1]) == rows(model, ids[0])
        assert len(rows(Attachment, ids[2])) == 2 and len(rows(Attachment, ids[1])) == 1
