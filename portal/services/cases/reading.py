"""Reading a ticket export into a table of raw cells: CSV in UTF-8 (with or without BOM) or
GB18030/GBK as Chinese Excel writes it, or XLSX through python-calamine.

The encoding and the delimiter are detected, never asked. An XLSX file is checked with
``zipfile`` before calamine sees it: a zip bomb (too many members, too much unzipped, a member
that inflates more than 100 times), XML with a DOCTYPE or ENTITY (billion laughs) and a sheet
whose cells span more than ``MAX_CELLS`` (calamine allocates the whole rectangle at once: two
cells at A1 and XFD1048576 in a 5 KB file would take the process down) are refused.
"""
import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from .. import DomainError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_UNZIPPED = 200 * 1024 * 1024
MAX_MEMBERS = 5000
#: a member inflating more than this many times its compressed size is a bomb ...
MAX_RATIO = 100
#: ... once it is big enough to matter (small XML parts legitimately compress very well)
RATIO_FROM_BYTES = 1024 * 1024
#: the rectangle of cells calamine may allocate for a sheet (about 32 bytes each)
MAX_CELLS = 5_000_000
MAX_ROWS = 500_000
MAX_COLUMNS = 200
DELIMITERS = (",", ";", "\t")
SCAN_CHUNK = 1024 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
#: a row or cell start tag, with its reference when it has one (calamine counts on without)
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])"
                       rb"(?:[^>]*?\sr\s*=\s*[\"']([A-Za-z]*)(\d+)[\"'])?")
#: each cell's row number from its reference, b"" for a cell without one
_CELL_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s/>])(?:[^>]*?\sr\s*=\s*[\"'][A-Za-z]*(\d+)[\"'])?")
_CELL_COLUMN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s/>])[^>]*?\sr\s*=\s*[\"']([A-Za-z]*)\d")


class FileRefused(DomainError):
    """The file cannot be read as a ticket export (or must not be: too big, a zip bomb ...)."""

    def __init__(self, message):
        super().__init__(message, field="file")


@dataclass
class Table:
    """The header row and the data rows of a file, blank rows left out."""
    headers: list[str]
    rows: list[list]
    encoding: str | None = None  # CSV: what it was read as (utf-8, utf-8-sig, gb18030)
    sheet: str | None = None     # XLSX: the sheet read ...
    sheets: list[str] = field(default_factory=list)  # ... of these
    #: the spreadsheet row number of each row (the header is row 1 when it is the first line)
    row_numbers: list[int] = field(default_factory=list)
    header_row: int = 1

    def __post_init__(self):
        if not self.row_numbers:
            self.row_numbers = list(range(self.header_row + 1, self.header_row + 1 + len(self.rows)))


def _limit(key, default):
    return int(current_app.config.get(key, default)) if has_app_context() else default


def read_table(data: bytes, filename: str, sheet: str | None = None) -> Table:
    """The table in ``data`` (CSV or XLSX, told apart by content); FileRefused if it cannot or
    must not be read. ``sheet``: the XLSX sheet to read (default the first)."""
    max_bytes = _limit("CASE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_l("The file is too large (at most %(mb).1f MB).", mb=max_bytes / 1048576))
    name = (filename or "").lower()
    if data.startswith(OLE_MAGIC) or name.endswith(".xls"):
        raise FileRefused(_l("Old .xls workbooks cannot be read: save the file as XLSX or CSV."))
    if data.startswith(ZIP_MAGIC) or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, sheet)
    return _read_csv(data)


# --- CSV --------------------------------------------------------------------------------------

def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 strictly (a BOM says utf-8-sig), else GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise FileRefused(_l("The file is neither UTF-8 nor GB18030/GBK text: save it as CSV "
                             "(UTF-8) or XLSX.")) from None


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one splitting the header into the most columns."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first on a tie: comma
    return best if counts[best] > 1 else ","


def _read_csv(data: bytes) -> Table:
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise FileRefused(_l("The file is not a CSV text file."))
    delimiter = sniff_delimiter(text)
    if '"' not in text and text.count("\r") == text.count("\r\n"):
        # nothing quoted, lines end in \n or \r\n (usual for Chinese exports, whose text has
        # full-width commas): the same rows as csv.reader gives, split in C five times as fast
        return _table((line.split(delimiter) for line in text.replace("\r\n", "\n").split("\n")),
                      encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _table(reader, encoding=encoding)
    except csv.Error:
        raise FileRefused(_l("The file is not a CSV text file.")) from None


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _table(rows, *, encoding=None, sheet=None, sheets=()) -> Table:
    """Header = the first non-blank row; data rows after it, blank ones skipped; numbered."""
    headers, header_row, body, numbers = None, 1, [], []
    for number, row in enumerate(rows, 1):
        try:  # text cells (CSV): one join says whether the row is blank
            if not "".join(row).strip():
                continue
        except TypeError:  # numbers, dates (XLSX)
            if all(_blank(cell) for cell in row):
                continue
        if headers is None:
            headers = [_header(cell) for cell in row]
            while headers and not headers[-1]:
                headers.pop()
            if len(headers) > MAX_COLUMNS:
                raise FileRefused(_l("The file has more than %(num)d columns.", num=MAX_COLUMNS))
            header_row, width = number, len(headers)
            continue
        if len(body) >= MAX_ROWS:
            raise FileRefused(_l("The file has more than %(num)d rows.", num=MAX_ROWS))
        if len(row) != width:
            row = list(row[:width])
            row.extend([None] * (width - len(row)))
        body.append(row)
        numbers.append(number)
    if headers is None:
        raise FileRefused(_l("The file is empty."))
    return Table(headers=headers, rows=body, encoding=encoding, sheet=sheet, sheets=list(sheets),
                 row_numbers=numbers, header_row=header_row)


def _header(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return " ".join(str(cell).split())


# --- XLSX -------------------------------------------------------------------------------------

def _read_xlsx(data: bytes, sheet: str | None) -> Table:
    check_workbook(data)
    from python_calamine import CalamineWorkbook
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(workbook.sheet_names)
        if not names:
            raise FileRefused(_l("The workbook has no sheet."))
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise FileRefused(_l("The workbook has no sheet named %(name)s.", name=sheet))
        rows = workbook.get_sheet_by_name(sheet).iter_rows()
        return _table(rows, sheet=sheet, sheets=names)
    except FileRefused:
        raise
    except Exception:  # calamine's errors: not a workbook after all, a broken part ...
        raise FileRefused(_l("The file could not be read as an Excel workbook (XLSX).")) from None


def check_workbook(data: bytes) -> None:
    """Refuse a zip that is no workbook or a bomb, and XML with declarations, before any parser
    reads it (FileRefused)."""
    max_unzipped = _limit("CASE_IMPORT_MAX_UNZIPPED", DEFAULT_MAX_UNZIPPED)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise FileRefused(_l("The file could not be read as an Excel workbook (XLSX).")) from None
    if len(members) > MAX_MEMBERS:
        raise FileRefused(_l("The workbook has too many parts (more than %(num)d).", num=MAX_MEMBERS))
    bomb = _l("The workbook unpacks to far more than its size (a “zip bomb”): it is refused.")
    if sum(m.file_size for m in members) > max_unzipped:
        raise FileRefused(bomb)
    for member in members:
        if member.file_size > RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise FileRefused(bomb)
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise FileRefused(_l("The file could not be read as an Excel workbook (XLSX)."))
    unzipped = 0
    for member in members:  # every part: a relationship may point a sheet at any name
        if not member.is_dir():
            unzipped += _scan_part(archive, member, max_unzipped - unzipped, bomb)


def _scan_part(archive, member, budget, bomb, exact=False) -> int:
    """Stream one part: no DOCTYPE/ENTITY, XML in UTF-8, and the cells it places fit MAX_CELLS.
    Returns the bytes it unzipped (never more than ``budget``). Cells are placed by their
    references; a part with cells lacking one is read again, following calamine's placement."""
    declaration = _l("The workbook contains XML declarations (DOCTYPE/ENTITY) that are not "
                     "allowed: it is refused.")
    unreadable = _l("The file could not be read as an Excel workbook (XLSX).")
    seen, carry, first = 0, b"", True
    xml = member.filename.lower().endswith((".xml", ".rels", ".vml"))
    cells = _ExactCells() if exact else _ReferencedCells()
    try:
        with archive.open(member) as stream:
            while True:
                chunk = stream.read(SCAN_CHUNK)
                if not chunk:
                    break
                seen += len(chunk)
                if seen > budget:
                    raise FileRefused(bomb)
                if first:
                    first = False
                    if xml and (chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in chunk[:4]):
                        raise FileRefused(unreadable)  # Excel writes UTF-8: nothing else is scanned
                buffer = carry + chunk
                cut = buffer.rfind(b"<")  # a tag cut in two is read with the next chunk
                if cut < 0 or len(buffer) - cut > 64 * 1024:
                    cut = len(buffer)
                done, carry = buffer[:cut], buffer[cut:]
                if _DECLARATION.search(done):
                    raise FileRefused(declaration)
                if not cells.place(done):
                    return _scan_part(archive, member, budget, bomb, exact=True)
        if _DECLARATION.search(carry):
            raise FileRefused(declaration)
        if not cells.place(carry):
            return _scan_part(archive, member, budget, bomb, exact=True)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError):
        raise FileRefused(unreadable) from None
    return seen


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


class _Cells:
    """The rectangle calamine will allocate for a sheet: rows × columns up to the farthest cell."""
    max_row = max_col = 0

    def check(self):
        if self.max_row > 1048576 or self.max_col > 16384 or self.max_row * self.max_col > MAX_CELLS:
            raise FileRefused(_l("The sheet spans more than %(num)d cells: it is refused.", num=MAX_CELLS))
        return True


class _ReferencedCells(_Cells):
    """Every cell carries its reference (as Excel writes them): the farthest row and column, found
    without a Python loop over the cells. ``place`` says False at a cell without a reference."""

    def place(self, text) -> bool:
        rows = _CELL_ROW.findall(text)
        if not rows:
            return True
        if b"" in rows:
            return False
        columns = set(_CELL_COLUMN.findall(text))
        if b"" in columns:  # a reference without a column letter: placed after the one before
            return False
        self.max_row = max(self.max_row, max(map(int, rows)))
        self.max_col = max(self.max_col, max(map(_column_number, columns)))
        return self.check()


class _ExactCells(_Cells):
    """Rows and cells followed one by one, as calamine places them: by reference, else next."""
    row = col = 0

    def place(self, text) -> bool:
        row, col, max_row, max_col = self.row, self.col, self.max_row, self.max_col
        for tag, letters, digits in _CELL_TAG.findall(text):
            if tag == b"row":
                row = int(digits) if digits else row + 1
                col = 0
                continue
            if digits:
                row, col = int(digits), _column_number(letters) if letters else col + 1
            else:
                col += 1
            max_row, max_col = max(max_row, row), max(max_col, col)
        self.row, self.col, self.max_row, self.max_col = row, col, max_row, max_col
        return self.check()
