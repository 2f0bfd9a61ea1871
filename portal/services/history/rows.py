"""Checking every row of a historical results file and turning it into clean result values.

As for ticket files (services.cases.rows), every row is checked whatever the earlier ones held, so
one pass lists all the errors, each by the spreadsheet row number (the header is row 1), the file's
column header and the offending value.
"""
import math
import unicodedata
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from ..cases.rows import RowError, cell_text, project_ids
from ..quarters import current_quarter, parse_quarter
from .format import COLUMN_LABELS, REQUIRED, dimension_of, find_columns, quarter_from_text

VALUE_MAX = 200
PROGRESS_EVERY = 1000


@dataclass
class ParsedHistory:
    """Clean results ({quarter, project_id, project_code, dimension, responses, score,
    satisfaction_rate, row}) and the errors found."""
    results: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class _Bad(ValueError):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _number(cell, *, percent=False):
    """A cell as a finite float (None when blank); with ``percent``, (value, had a % sign)."""
    if isinstance(cell, bool):
        raise _Bad(_l("Not a number."))
    had_sign = False
    if isinstance(cell, (int, float)):
        value = float(cell)
    else:
        text = "".join(unicodedata.normalize("NFKC", cell_text(cell)).split())
        if not text:
            return (None, False) if percent else None
        if percent and text.endswith("%"):
            text, had_sign = text[:-1], True
        try:
            value = float(text)
        except ValueError:
            raise _Bad(_l("Not a number.")) from None
    if not math.isfinite(value):
        raise _Bad(_l("Not a number."))
    return (value, had_sign) if percent else value


def parse_quarter_cell(cell, latest_quarter) -> str:
    """The quarter a cell names, before ``latest_quarter`` (the current one); _Bad otherwise."""
    quarter = quarter_from_text(cell_text(cell))
    try:
        parse_quarter(quarter)
    except ValueError:
        raise _Bad(_l("Not a quarter (e.g. 2026Q1).")) from None
    if quarter >= latest_quarter:
        raise _Bad(_l("Only past quarters can be imported (before %(quarter)s).", quarter=latest_quarter))
    return quarter


def parse_responses(cell) -> int:
    value = _number(cell)
    if value is None:
        raise _Bad(_l("Required: %(field)s is empty.", field=COLUMN_LABELS["responses"]))
    if not value.is_integer():
        raise _Bad(_l("Not a whole number."))
    if value < 1:
        raise _Bad(_l("At least 1 response."))
    if value > 2_000_000_000:
        raise _Bad(_l("Too many responses."))
    return int(value)


def parse_score(cell) -> float:
    value = _number(cell)
    if value is None:
        raise _Bad(_l("Required: %(field)s is empty.", field=COLUMN_LABELS["score"]))
    if not 1 <= value <= 5:
        raise _Bad(_l("The score must lie between 1 and 5."))
    return value


def parse_rate(cell) -> float | None:
    """A share in [0, 1] from 85, 85% or 0.85 (a number up to 1 is a share); None when blank."""
    value, had_sign = _number(cell, percent=True)
    if value is None:
        return None
    share = value / 100 if had_sign or value > 1 else value
    if not 0 <= share <= 1:
        raise _Bad(_l("The satisfaction rate must lie between 0 and 100%."))
    return share


def parse_history_rows(table, *, now=None, on_progress=None) -> ParsedHistory:
    """Check every row of ``table`` (services.cases.reading.Table) and return the clean results and
    the errors. A quarter must lie before the current one (``now``: naive UTC, default the clock)."""
    result = ParsedHistory(rows_read=len(table.rows))
    columns = find_columns(table.headers)
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        result.errors.extend(
            RowError(None, None, "", _l("The file has no column %(column)s.", column=COLUMN_LABELS[key]))
            for key in missing)
        return result
    header = {key: table.headers[index] for key, index in columns.items()}
    latest = current_quarter(now)
    projects = project_ids(cell_text(row[columns["project_code"]]) for row in table.rows)
    required = {key: _l("Required: %(field)s is empty.", field=COLUMN_LABELS[key]) for key in REQUIRED}
    seen = {}
    total = len(table.rows)
    for n, (row, number) in enumerate(zip(table.rows, table.row_numbers)):
        if on_progress is not None and n and n % PROGRESS_EVERY == 0:
            on_progress(n, total)
        bad, values = [], {}

        def check(key, parse):
            cell = row[columns[key]]
            if key in required and not cell_text(cell):
                bad.append((key, cell, required[key]))
                return None
            try:
                values[key] = parse(cell)
            except _Bad as exc:
                bad.append((key, cell, exc.message))
            return values.get(key)

        check("quarter", lambda cell: parse_quarter_cell(cell, latest))
        code = cell_text(row[columns["project_code"]])
        if not code:
            bad.append(("project_code", code, required["project_code"]))
        elif code not in projects:
            bad.append(("project_code", code, _l("No project has this code.")))
        check("dimension", lambda cell: dimension_of(cell_text(cell)) or _unknown_dimension())
        check("responses", parse_responses)
        check("score", parse_score)
        if "satisfaction_rate" in columns:
            check("satisfaction_rate", parse_rate)
        if not bad and code:
            key = (values["quarter"], code, values["dimension"])
            first = seen.get(key)
            if first is None:
                seen[key] = number
            else:
                bad.append(("dimension", row[columns["dimension"]],
                            _l("This quarter, project and dimension are also in row %(row)d.", row=first)))
        if bad:
            result.errors.extend(RowError(number, header[key], cell_text(cell)[:VALUE_MAX], message)
                                 for key, cell, message in bad)
            continue
        result.results.append({
            "row": number, "quarter": values["quarter"], "project_id": projects[code], "project_code": code,
            "dimension": values["dimension"], "responses": values["responses"], "score": values["score"],
            "satisfaction_rate": values.get("satisfaction_rate")})
    if on_progress is not None:
        on_progress(total, total)
    return result


def _unknown_dimension():
    raise _Bad(_l("Not a known dimension (a code such as attitude, its name, or overall/总体)."))
