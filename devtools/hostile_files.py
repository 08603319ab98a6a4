"""Hostile import files, built in memory, for bench_hostile_uploads and the tests (issue 23).

Each is a small upload that once cost a web worker minutes or hundreds of MB: a sheet whose
<dimension> claims the whole grid, a zip whose sheet XML unpacks to hundreds of MB, one huge cell.
"""

import io
import zipfile

HEADER = ("Parent Account Id", "Email", "First name")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_OPEN = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _column(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell(row: int, column: int, text: str) -> str:
    return f'<c r="{_column(column)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, texts) -> str:
    return f'<row r="{number}">' + "".join(cell(number, i, text) for i, text in enumerate(texts, 1) if text) + "</row>"


def xlsx(sheet_parts, *, dimension: str | None = None, level: int = 6) -> bytes:
    """An .xlsx whose first sheet's <sheetData> is the concatenation of `sheet_parts` (strings),
    streamed into the zip: the sheet may unpack to far more than is ever held in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_OPEN.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for part in sheet_parts:
                sheet.write(part.encode())
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def _line(number: int) -> list[str]:
    return ["466158", f"user{number}@example.com", f"User {number}"]


def dimension_bomb(lines: int = 1) -> bytes:
    """<dimension ref="A1:XFD1048576"/>, a header, `lines` lines from row 2, and a cell in the last
    row: read as the dimension says, 16,384 cells for each of 1,048,576 rows."""
    parts = [row(1, HEADER)] + [row(n, _line(n)) for n in range(2, lines + 2)] + [row(1048576, ["466158"])]
    return xlsx(parts, dimension="A1:XFD1048576")


def zip_bomb(rows: int = 2_000_000) -> bytes:
    """A sheet of `rows` identical lines: about 100 bytes of XML each (about 300 MB for 2 M), about 1 MB zipped."""
    line = "".join(f'<c t="inlineStr"><is><t>{text}</t></is></c>' for text in _line(0))

    def parts():
        yield row(1, HEADER)
        chunk = "<row>" + line + "</row>"
        block = chunk * 10_000
        for _ in range(rows // 10_000):
            yield block

    return xlsx(parts(), level=9)


def huge_cell(chars: int = 150 * 1024 * 1024) -> bytes:
    """A header and one line whose first cell holds `chars` characters (150 MB by default)."""

    def parts():
        yield row(1, HEADER)
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        block = "A" * (1024 * 1024)
        for _ in range(chars // len(block)):
            yield block
        yield "A" * (chars % len(block))
        yield "</t></is></c></row>"

    return xlsx(parts(), level=9)


def normal_xlsx(lines: int = 5000) -> bytes:
    """The reference: a header and `lines` ordinary lines, as a reseller's file."""
    return xlsx([row(1, HEADER)] + [row(n, _line(n)) for n in range(2, lines + 2)])


def normal_csv(lines: int = 5000) -> bytes:
    return ("\n".join([",".join(HEADER)] + [",".join(_line(n)) for n in range(2, lines + 2)]) + "\n").encode()
