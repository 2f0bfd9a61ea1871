"""Workbooks for download, written with XlsxWriter: a bold frozen header row, columns wide
enough for their contents, numbers as numbers, dates as dates. Nothing a ticket or a client
wrote can become a formula or a link: formula and URL detection are off, every string is
written as a string, and one beginning with ``= + - @``, a tab or a carriage return is
neutralised (prefixed with ``'``) so a spreadsheet never evaluates it when re-saved or pasted.
"""
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import xlsxwriter

from .spreadsheets import safe_cell as _neutralise  # the one rule, shared with the CSV exports

#: Excel refuses these in a sheet's name, and names longer than 31 characters
_SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
MAX_WIDTH, MIN_WIDTH = 60, 6


@dataclass(frozen=True)
class Percent:
    """A share (0.8) shown as a percentage (80.0%); still a number in the cell."""
    value: float


def _sheet_name(title, taken) -> str:
    name = str(title).translate(_SHEET_NAME_FORBIDDEN).strip().strip("'")[:31] or "Sheet"
    base, n = name, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: East Asian wide characters count twice."""
    line = max(str(text).splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


class _Writer:
    def __init__(self, workbook):
        self.header = workbook.add_format({"bold": True, "bg_color": "#F0F4F8", "bottom": 1,
                                           "text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd", "align": "left"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", "align": "left"})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.text = workbook.add_format({"valign": "top"})

    def cell(self, sheet, row, col, value) -> int:
        """Write one value by its type; returns its display width."""
        if value is None or value == "":
            sheet.write_blank(row, col, None)
            return 0
        if isinstance(value, Percent):
            sheet.write_number(row, col, value.value, self.percent)
            return 7
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
            return 5
        if isinstance(value, (int, float, Decimal)):
            sheet.write_number(row, col, float(value))
            return len(f"{value:g}") if isinstance(value, float) else len(str(value))
        if isinstance(value, datetime):
            sheet.write_datetime(row, col, value, self.datetime)
            return 16
        if isinstance(value, date):
            sheet.write_datetime(row, col, value, self.date)
            return 10
        text = _neutralise(str(value))
        sheet.write_string(row, col, text, self.text)
        return _display_width(text)


def _write_sheet(workbook, writer, taken, title, headers, rows):
    sheet = workbook.add_worksheet(_sheet_name(title, taken))
    widths = []
    for col, header in enumerate(headers):
        header = _neutralise(str(header))
        sheet.write_string(0, col, header, writer.header)
        widths.append(_display_width(header))
    for r, values in enumerate(rows, 1):
        for col, value in enumerate(values):
            width = writer.cell(sheet, r, col, value)
            if col < len(widths):
                widths[col] = max(widths[col], width)
            else:
                widths.append(width)
    for col, width in enumerate(widths):  # kept apart from the rows: written when the book closes
        sheet.set_column(col, col, min(MAX_WIDTH, max(MIN_WIDTH, width + 2)))
    sheet.freeze_panes(1, 0)


def _workbook(out, streaming):
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    options.update({"constant_memory": True} if streaming else {"in_memory": True})
    return xlsxwriter.Workbook(out, options)


def write_xlsx(sheets) -> bytes:
    """An XLSX workbook of ``sheets``: ``[(title, headers, rows)]``, each row a sequence of
    values (str, int, float, Decimal, bool, date, naive local datetime, Percent or None)."""
    out = BytesIO()
    workbook = _workbook(out, streaming=False)
    writer, taken = _Writer(workbook), set()
    for title, headers, rows in sheets:
        _write_sheet(workbook, writer, taken, title, headers, rows)
    workbook.close()
    return out.getvalue()


def write_xlsx_streaming(sheets) -> bytes:
    """``write_xlsx`` for large workbooks: XlsxWriter's constant-memory mode writes each row to a
    temporary file as it comes (strings inline), so ``rows`` may be a generator over a streamed
    query and only one row is held at a time. The same cells and the same neutralisation; the
    sheets are written in order and each sheet's rows once, top to bottom."""
    out = BytesIO()
    workbook = _workbook(out, streaming=True)
    writer, taken = _Writer(workbook), set()
    for title, headers, rows in sheets:
        _write_sheet(workbook, writer, taken, title, headers, rows)
    workbook.close()
    return out.getvalue()
