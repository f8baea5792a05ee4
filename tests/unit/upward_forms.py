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

import datetime
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


# ---------------------------------------------------------------------------------- a form as Excel leaves it

# A text box (the department's logo as a shape) and a list validation reading another
# sheet (an x14 extension): two things openpyxl drops when it loads and saves a workbook.
_SHAPE = (
    '<xdr:twoCellAnchor xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:from><xdr:col>0</xdr:col>'
    "<xdr:colOff>0</xdr:colOff><xdr:row>0</xdr:row>"
    "<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>"
    '<xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="9" name="Logo"/>'
    '<xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="900000" cy="300000"/>'
    '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/>'
    "<a:p><a:r><a:t>LOGO SỞ</a:t></a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>"
)
_X14_VALIDATION = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Danh_muc!$A$1:$A$3</xm:f></x14:formula1>'
    "<xm:sqref>E6:E7</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>"
)
RICH_SHEET = "Biểu 01"
RICH_ROWS = {6: "ho_kinh_doanh", 7: "ngung_viec"}  # C: de_nghi; D: kinh_phi in triệu đồng; row 8: =SUM


def rich_xlsx() -> bytes:
    """A small indicator form with what a real one carries: a picture (logo), a chart, a
    comment, a data validation, conditional formatting, a defined name, print area and
    titles, a page header, a "Tính đến ngày:" label with a date cell beside it, a total
    row of formulas; then, as Excel would leave it, a text box and an x14 validation."""
    import zipfile

    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.drawing.image import Image
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation
    from PIL import Image as Picture

    wb = Workbook()
    ws = wb.active
    ws.title = RICH_SHEET
    ws["B1"] = "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    ws["A3"], ws["C3"] = "Tính đến ngày:", datetime.date(2021, 1, 1)
    ws["C3"].number_format = "dd/mm/yyyy"
    ws["A5"], ws["B5"], ws["C5"], ws["D5"] = "TT", "Chính sách", "Số đề nghị", "Kinh phí phê duyệt (triệu đồng)"
    ws["A6"], ws["B6"] = "1", "Hỗ trợ hộ kinh doanh"
    ws["A7"], ws["B7"] = "2", "Hỗ trợ người lao động ngừng việc"
    ws["B8"], ws["C8"], ws["D8"] = "Tổng cộng", "=SUM(C6:C7)", "=SUM(D6:D7)"
    for ref in ("C6", "C7", "D6", "D7"):
        ws[ref].number_format = "#,##0.00"
        ws[ref].font = Font(name="Times New Roman", bold=ref == "D7")
    picture = io.BytesIO()
    Picture.new("RGB", (20, 20), (200, 0, 0)).save(picture, "PNG")
    ws.add_image(Image(io.BytesIO(picture.getvalue())), "F1")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=3, min_row=5, max_row=7), titles_from_data=True)
    ws.add_chart(chart, "F10")
    validation = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
    ws.add_data_validation(validation)
    validation.add("C6:C7")
    red = PatternFill("solid", fgColor="FF0000")
    ws.conditional_formatting.add("C6:C7", CellIsRule(operator="lessThan", formula=["0"], fill=red))
    wb.defined_names["Vung_so_lieu"] = DefinedName("Vung_so_lieu", attr_text="'Biểu 01'!$C$6:$D$7")
    ws.print_area = "A1:D8"
    ws.print_title_rows = "5:5"
    ws.page_setup.orientation = "landscape"
    ws.oddHeader.center.text = "Biểu 01"
    ws["B5"].comment = Comment("Theo Quyết định của UBND tỉnh", "Sở")
    lists = wb.create_sheet("Danh_muc")
    for value in ("Đạt", "Chưa đạt", "Không áp dụng"):
        lists.append([value])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename == "xl/drawings/drawing1.xml":
                body = body.replace(b"</wsDr>", _SHAPE.encode() + b"</wsDr>")
            elif info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"</worksheet>", _X14_VALIDATION.encode() + b"</worksheet>")
            zout.writestr(info, body)
    return out.getvalue()


def rich_docx() -> bytes:
    """A unit form in Word with a page header and footer, a picture (logo) in the body, a
    "Số liệu tính đến ngày" line, a period line and one table of units."""
    import docx
    from docx.shared import Cm
    from PIL import Image as Picture

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI TỈNH BẮC KẠN"
    section.footer.paragraphs[0].text = "Biểu mẫu ban hành kèm Công văn số 123/SLĐTBXH"
    picture = io.BytesIO()
    Picture.new("RGB", (30, 30), (0, 80, 160)).save(picture, "PNG")
    document.add_picture(io.BytesIO(picture.getvalue()), width=Cm(1.5))
    document.add_paragraph("BÁO CÁO KẾT QUẢ HỖ TRỢ THEO ĐƠN VỊ", style="Title")
    document.add_paragraph("(Số liệu tính đến ngày ..../..../2021)")
    rows = [
        ["TT", "Đơn vị", "Số đề nghị", "Kinh phí phê duyệt (nghìn đồng)"],
        ["1", "Bảo hiểm xã hội thành phố"],
        ["2", "Phòng Y tế"],
        ["3", "P. Sông Cầu"],
        [None, "Cộng"],
    ]
    table = document.add_table(rows=len(rows), cols=4)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                table.cell(r, c).paragraphs[0].add_run(value).bold = r == 0
    document.add_paragraph("Bắc Kạn, ngày ... tháng ... năm ...")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


RICH_DOCX_ROWS = {2: "BHXH", 3: "YTE", 4: "SONG_CAU"}  # grid rows; 5: the total
