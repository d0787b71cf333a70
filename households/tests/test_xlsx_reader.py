"""The streaming .xlsx reader of imports: the cell types and shapes that spreadsheet programs write."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from households.xlsx_reader import (
    BAD_NUMBER,
    MISSING_SHARED_STRING,
    NO_CACHED_RESULT,
    UnreadableCell,
    WorkbookError,
    WorkbookTooLarge,
    XlsxReader,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def workbook(path, sheet_xml: str, *, date1904: bool = False, shared: str = "", styles: str = ""):
    """A minimal workbook as a spreadsheet program writes it (shared strings, styles, relationships)."""
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr date1904="{int(date1904)}"/>'
        '<sheets><sheet name="户信息" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_xml}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{shared}</sst>',
        "xl/styles.xml": f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>',
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def rows(path, **options):
    with XlsxReader(path, **options) as book:
        return list(book.rows("户信息"))


def test_cells_of_every_type(tmp_path):
    shared = (
        "<si><t>户编号</t></si>"
        '<si><r><t>张</t></r><r><rPr><b/></rPr><t xml:space="preserve">建国 </t></r><rPh><t>ZHANG</t></rPh></si>'
    )
    styles = (
        '<numFmts><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
        '<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="31"/><xf numFmtId="2"/>'
        "</cellXfs>"
    )
    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="A3"><v>4103241002010101</v></c><c r="B3" s="1"><v>42430</v></c>'
        '<c r="C3" s="2"><v>42430</v></c><c r="D3" s="3"><v>42430</v></c><c r="E3" s="4"><v>3.5</v></c>'
        '<c r="F3" t="b"><v>1</v></c><c r="G3" t="str"><f>A1&amp;"x"</f><v>户编号x</v></c>'
        '<c r="H3" t="e"><v>#N/A</v></c><c r="I3" t="inlineStr"><is><t>a&amp;b</t></is></c>'
        '<c r="J3" t="d"><v>2016-03-01T00:00:00</v></c><c r="K3"/></row>'
        "<row><c><v>1</v></c><c><v>2</v></c></row>"
    )

    result = rows(workbook(tmp_path / "f.xlsx", sheet, shared=shared, styles=styles))

    march_first = dt.datetime(2016, 3, 1)
    assert result == [
        (1, ["户编号", None, "张建国 "]),
        (3, [4103241002010101, march_first, march_first, march_first, 3.5, True, "户编号x", "#N/A", "a&b",
             march_first]),
        (4, [1, 2]),
    ]  # fmt: skip


def test_the_1904_date_system(tmp_path):
    styles = '<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
    sheet = '<row r="1"><c r="A1" s="1"><v>40968</v></c></row>'
    path = workbook(tmp_path / "f.xlsx", sheet, date1904=True, styles=styles)

    assert rows(path) == [(1, [dt.datetime(2016, 3, 1)])]


@pytest.mark.parametrize(
    "content",
    [b"not a zip at all", b"PK\x03\x04broken", None],
    ids=["text", "broken zip", "zip without a workbook"],
)
def test_what_is_not_a_workbook_raises_workbook_error(tmp_path, content):
    path = tmp_path / "f.xlsx"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "你好")
    else:
        path.write_bytes(content)

    with pytest.raises(WorkbookError):
        XlsxReader(path)


def test_broken_sheet_xml_raises_workbook_error_while_reading(tmp_path):
    path = workbook(tmp_path / "f.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c>')

    with pytest.raises(WorkbookError):
        rows(path)


def test_cells_that_cannot_be_read_are_unreadable_cells_not_errors_of_the_file(tmp_path):
    shared = "<si><t>甲</t></si>"
    styles = '<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
    sheet = (
        '<row r="1"><c r="A1"><f>1+1</f><v></v></c><c r="B1"><f>1+1</f></c><c r="C1" t="str"><f>""</f><v></v></c>'
        '<c r="D1" s="1"><v>20200901</v></c><c r="E1" t="s"><v>1</v></c><c r="F1" t="s"><v>x</v></c>'
        '<c r="G1"><v>abc</v></c><c r="H1" t="s"><v>0</v></c></row>'
    )

    path = workbook(tmp_path / "f.xlsx", sheet, shared=shared, styles=styles)

    [(row_number, values)] = rows(path, unreadable_cells=True)
    assert row_number == 1
    date_error = values[3]
    assert values == [NO_CACHED_RESULT, NO_CACHED_RESULT, None, date_error, MISSING_SHARED_STRING,
                      MISSING_SHARED_STRING, BAD_NUMBER, "甲"]  # fmt: skip
    assert isinstance(date_error, UnreadableCell) and "20200901" in date_error.message
    assert rows(path) == [(1, [None, None, None, None, None, None, None, "甲"])]  # not asked for: empty


def test_a_workbook_that_expands_too_far_is_refused_before_it_is_read(tmp_path):
    path = workbook(tmp_path / "f.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row>')
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\0" * (2 * 1024 * 1024))

    with pytest.raises(WorkbookTooLarge, match="上限为1 MB"):
        XlsxReader(path, max_uncompressed_bytes=1024 * 1024, max_expansion_ratio=10**6)
    with pytest.raises(WorkbookTooLarge, match="上限100倍"):
        XlsxReader(path, max_expansion_ratio=100)
    with XlsxReader(path, max_uncompressed_bytes=4 * 1024 * 1024, max_expansion_ratio=10**6) as book:
        assert list(book.rows("户信息")) == [(1, [1])]
