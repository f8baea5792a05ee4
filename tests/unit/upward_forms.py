"""Two superior's forms built in code, as a provincial department sends them to the city.

- `province_xlsx`: "Biểu số 01" of the Sở LĐTBXH, one row per policy (indicator), a merged
  two-row header with the measures in another order than the city's form, money in
  "triệu đồng", section headings (I, II), a row the city's form does not have, a column
  it does not have, a "Tổng cộng" row with =SUM formulas, styles and number formats.
- `province_docx`: a Word table with one row per unit (department, ward, commune), a merged
  two-row header (gridSpan, vMerge), money in "nghìn đồng", a unit the config does not
  know, a total row without formulas, the period line and the signature date line.
"""

from __future__ import annotations

import io

SUM_COLUMNS = "CDEFG"
XLSX_DATA_ROWS = {  # row: indicator code (None: a row the city's form does not have)
    12: "tam_hoan_hdld",
    13: "ngung_viec",
    14: "dao_tao",
    16: "ho_kinh_doanh",
    17: "huong_dan_vien",
    18: None,
}
XLSX_TOTAL_ROW = 19
# Columns of the province's form: measure and scale (đồng per unit).
XLSX_COLUMNS = {"C": ("phe_duyet", 1), "D": ("da_chi", 1), "E": ("tien_da_chi", 10**6), "F": ("kinh_phi", 10**6)}
XLSX_COLUMNS["G"] = ("de_nghi", 1)


def province_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 01"
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(name="Times New Roman", bold=True, size=12)
    ws["A1"] = "UBND TỈNH BẮC KẠN"
    ws["A2"] = "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    ws["E1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ws["E2"] = "Độc lập - Tự do - Hạnh phúc"
    for ref in ("A1:C1", "A2:C2", "E1:I1", "E2:I2", "A5:I5", "A6:I6"):
        ws.merge_cells(ref)
    ws["H4"] = "Biểu số 01"
    ws["A5"] = "BÁO CÁO KẾT QUẢ THỰC HIỆN CHÍNH SÁCH HỖ TRỢ NGƯỜI LAO ĐỘNG, NGƯỜI SỬ DỤNG LAO ĐỘNG"
    ws["A5"].font = Font(name="Times New Roman", bold=True, size=14)
    ws["A5"].alignment = Alignment(horizontal="center")
    ws["A6"] = "(Số liệu tính đến ngày ....../....../2021)"
    ws["A6"].font = Font(name="Times New Roman", italic=True)
    # the header: rows 8-9, then the column numbers on row 10
    heads = {
        "A8": "TT",
        "B8": "Nội dung chính sách",
        "C8": "Số đối tượng (người)",
        "C9": "Được phê duyệt",
        "D9": "Đã chi trả",
        "E8": "Kinh phí (triệu đồng)",
        "E9": "Đã chi trả",
        "F9": "Được phê duyệt",
        "G8": "Số đối tượng đề nghị hỗ trợ",
        "H8": "Tỷ lệ giải ngân (%)",
        "I8": "Ghi chú",
    }
    for ref, text in heads.items():
        ws[ref] = text
    for ref in ("A8:A9", "B8:B9", "C8:D8", "E8:F8", "G8:G9", "H8:H9", "I8:I9"):
        ws.merge_cells(ref)
    for col, number in zip("ABCDEFGHI", ["A", "B", "1", "2", "3", "4", "5", "6", "7"]):
        ws[f"{col}10"] = number
    for r in (8, 9, 10):
        for col in "ABCDEFGHI":
            cell = ws[f"{col}{r}"]
            cell.font = bold
            cell.border = box
            cell.fill = PatternFill("solid", fgColor="DCE6F1")
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    rows = {
        11: ("I", "Chính sách hỗ trợ người lao động"),
        12: ("1", "Hỗ trợ người lao động tạm hoãn thực hiện hợp đồng lao động, nghỉ việc không hưởng lương"),
        13: ("2", "Hỗ trợ người lao động ngừng việc"),
        14: ("3", "Hỗ trợ đào tạo duy trì việc làm cho người lao động"),
        15: ("II", "Chính sách hỗ trợ khác"),
        16: ("4", "Hỗ trợ hộ kinh doanh"),
        17: ("5", "Hỗ trợ hướng dẫn viên du lịch"),
        18: ("6", "Hỗ trợ khác theo quyết định của UBND tỉnh"),
    }
    for r, (number, label) in rows.items():
        ws[f"A{r}"], ws[f"B{r}"] = number, label
    ws[f"B{XLSX_TOTAL_ROW}"] = "Tổng cộng"
    for col in SUM_COLUMNS:
        ws[f"{col}{XLSX_TOTAL_ROW}"] = f"=SUM({col}12:{col}18)"
    for r in range(11, XLSX_TOTAL_ROW + 1):
        for col in "ABCDEFGHI":
            cell = ws[f"{col}{r}"]
            cell.border = box
            cell.font = Font(name="Times New Roman", bold=r in (11, 15, XLSX_TOTAL_ROW))
            if col in "EF":
                cell.number_format = "#,##0.000"
            elif col in "CDG":
                cell.number_format = "#,##0"
    ws["F21"] = "Bắc Kạn, ngày ..... tháng ..... năm 2021"
    ws["F21"].font = Font(name="Times New Roman", italic=True)
    ws.merge_cells("F21:I21")
    ws["B22"] = "NGƯỜI LẬP BIỂU"
    ws["F22"] = "GIÁM ĐỐC"
    ws.column_dimensions["B"].width = 60
    ws.row_dimensions[8].height = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


DOCX_UNIT_ROWS = {  # grid row: unit code (None: a unit the config does not have)
    3: "BHXH",
    4: "YTE",
    5: "SONG_CAU",
    6: "XUAT_HOA",
    7: "NONG_THUONG",
    8: None,
}
DOCX_TOTAL_ROW = 9
# Grid columns: measure and scale.
DOCX_COLUMNS = {3: ("de_nghi", 1), 4: ("phe_duyet", 1), 5: ("tien_da_chi", 1000), 6: ("kinh_phi", 1000)}


def province_docx() -> bytes:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    for text in (
        "UBND THÀNH PHỐ BẮC KẠN",
        "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
        "BIỂU TỔNG HỢP KẾT QUẢ HỖ TRỢ THEO ĐƠN VỊ",
        "Kỳ báo cáo: từ ngày ......../......../........ đến ngày ......../......../........",
    ):
        run = document.add_paragraph().add_run(text)
        run.font.name = "Times New Roman"
        run.bold = text.isupper()
    header = [
        ["STT", "Tên đơn vị", "Số đối tượng", None, "Kinh phí (nghìn đồng)", None, "Ghi chú"],
        [None, None, "Đề nghị hỗ trợ", "Được phê duyệt", "Đã chi trả", "Được phê duyệt", None],
    ]
    units = [
        ["1", "Bảo hiểm xã hội thành phố"],
        ["2", "Phòng Y tế"],
        ["3", "Phường Sông Cầu"],
        ["4", "Xuất Hóa"],
        ["5", "Xã Nông Thượng"],
        ["6", "Phường Minh Khai"],
        [None, "Tổng cộng"],
    ]
    rows = header + [u + [None] * 5 for u in units]
    table = document.add_table(rows=len(rows), cols=7)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            run = table.cell(r, c).paragraphs[0].add_run(value)
            run.font.name = "Times New Roman"
            run.font.size = Pt(12)
            run.bold = r < 2 or value == "Tổng cộng"
    for r in range(2, len(rows)):  # the empty figure cells are formatted (right, 12 pt) like the rest
        for c in range(2, 7):
            paragraph = table.cell(r, c).paragraphs[0]
            paragraph.alignment = 2  # right
            paragraph.paragraph_format.space_after = Pt(0)
    for r1, c1, r2, c2 in ((0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 3), (0, 4, 0, 5), (0, 6, 1, 6)):
        table.cell(r1, c1).merge(table.cell(r2, c2))
    signature = document.add_paragraph().add_run("Bắc Kạn, ngày ... tháng ... năm ...")
    signature.italic = True
    document.add_paragraph().add_run("NGƯỜI LẬP BIỂU")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
