"""Checking every row of a ticket export and turning it into clean case values.

Every row is checked, whatever the earlier rows held, so one pass lists all the errors: by the
spreadsheet row number (the header is row 1), the file's column header and the offending value.
Ticket times are local time (``PORTAL_TIMEZONE``) and stored as naive UTC; a case's quarter is
the local quarter it was closed in (``quarter_of``).
"""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...models import Project, ServiceCase
from ...models.base import utcnow
from ..quarters import MAX_YEAR, MIN_YEAR, portal_zone, quarter_of
from .mapping import FIELD_LABELS, check_mapping

PRIORITY_CODES = {"p1": "P1", "p2": "P2", "p3": "P3", "p4": "P4"}
_PRIORITY_PARTS = re.compile(r"[\s\-_:.,/()\[\]（）【】：，、—–]+")
_LOCAL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"
                         r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
EXCEL_EPOCH = datetime(1899, 12, 30)
#: Excel serial numbers of the years a case may be closed in (MIN_YEAR to MAX_YEAR)
SERIAL_RANGE = ((datetime(MIN_YEAR, 1, 1) - EXCEL_EPOCH).days, (datetime(MAX_YEAR + 1, 1, 1) - EXCEL_EPOCH).days)
#: how far a closing time may lie ahead of the portal's clock (the ticket system's clock drifts)
FUTURE_GRACE = timedelta(minutes=10)
PROGRESS_EVERY = 1000
VALUE_MAX = 200
LIMITS = {"case_id": ServiceCase.external_id.type.length, "reporter": ServiceCase.reporter.type.length,
          "reporter_phone": ServiceCase.reporter_phone.type.length,
          "engineer": ServiceCase.engineer.type.length}
CODE_CHUNK = 500


@dataclass
class RowError:
    row: int | None      # spreadsheet row number (header = 1); None: the file as a whole
    column: str | None   # the file's column header
    value: str           # the offending value as text
    message: object      # a (lazy) translated message

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": str(self.message)}


@dataclass
class ParsedCases:
    """Clean case values (dicts of ServiceCase columns, ``row`` left out) and the errors found."""
    cases: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_rejected(self) -> int:
        return len({e.row for e in self.errors})


class _BadValue(ValueError):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def cell_text(cell) -> str:
    """A raw cell as text: stripped; whole numbers without '.0'; dates in ISO form."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    return str(cell).strip()


def _shown(cell) -> str:
    return cell_text(cell)[:VALUE_MAX]


# --- priorities -------------------------------------------------------------------------------

def normalize_priority_map(priority_map) -> dict:
    return {" ".join(str(k).split()).lower(): v for k, v in priority_map.items()}


def parse_priority(value: str, priority_map: dict) -> str | None:
    """P1–P4 for a ticket system's priority: the whole value (any case, spaces collapsed), else
    its parts ("1 - Critical" → "1"), when they agree; ``priority_map`` keys are normalized."""
    key = " ".join(value.split()).lower()
    found = priority_map.get(key) or PRIORITY_CODES.get(key)
    if found:
        return found
    parts = {priority_map.get(part) or PRIORITY_CODES.get(part) for part in _PRIORITY_PARTS.split(key) if part}
    parts.discard(None)
    return parts.pop() if len(parts) == 1 else None


# --- dates ------------------------------------------------------------------------------------

def _check_year(moment):
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise _BadValue(_l("%(day)s is outside the years %(lo)d–%(hi)d.", day=moment.date().isoformat(),
                           lo=MIN_YEAR, hi=MAX_YEAR))
    return moment


def _from_serial(number) -> datetime:
    if not SERIAL_RANGE[0] <= number < SERIAL_RANGE[1]:
        raise _BadValue(_l("Not a date and time (e.g. 2026-10-03 14:05)."))
    return EXCEL_EPOCH + timedelta(seconds=round(number * 86400))


def _chinese(text: str) -> str:
    """'２０２６年10月3日 14时05分' → '2026-10-3 14:05'; slashes and dots → dashes."""
    text = unicodedata.normalize("NFKC", text)
    text = (text.replace("年", "-").replace("月", "-").replace("日", " ").replace("号", " ")
            .replace("时", ":").replace("点", ":").replace("分", ":").replace("秒", "")
            .replace("/", "-").replace(".", "-", 2))
    return " ".join(text.split()).rstrip(":")


def local_moment(cell) -> datetime | None:
    """The local time a cell gives (naive, or aware when the text carries an offset), None when
    blank; _BadValue when it is no date."""
    if cell is None:
        return None
    if isinstance(cell, datetime):
        return _check_year(cell)
    if isinstance(cell, date):
        return _check_year(datetime.combine(cell, time()))
    if isinstance(cell, bool):
        raise _BadValue(_l("Not a date and time (e.g. 2026-10-03 14:05)."))
    if isinstance(cell, (int, float)):
        return _from_serial(cell)
    text = str(cell).strip()
    if not text:
        return None
    try:
        return _check_year(datetime.fromisoformat(text))
    except ValueError:
        pass
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text))
    match = _LOCAL_DATE.fullmatch(_chinese(text))
    if not match:
        raise _BadValue(_l("Not a date and time (e.g. 2026-10-03 14:05)."))
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    try:
        return _check_year(datetime(y, mo, d, h, mi, s))
    except ValueError:
        raise _BadValue(_l("Not a date and time (e.g. 2026-10-03 14:05).")) from None


def to_utc(moment: datetime, zone) -> datetime:
    """Naive UTC of a local (naive) or aware time."""
    if moment.tzinfo is None:
        return moment - zone.utcoffset(moment)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _moment(cell, zone):
    """(naive UTC, local) of a cell, (None, None) when blank; _BadValue when it is no date."""
    if cell.__class__ is str:  # the usual case first: ISO text
        try:
            local = datetime.fromisoformat(cell.strip())
        except ValueError:
            local = local_moment(cell)
        else:
            if not MIN_YEAR <= local.year <= MAX_YEAR:
                _check_year(local)
    else:
        local = local_moment(cell)
    if local is None:
        return None, None
    if local.tzinfo is None:
        return local - zone.utcoffset(local), local
    utc = local.astimezone(timezone.utc).replace(tzinfo=None)
    return utc, local.astimezone(zone).replace(tzinfo=None)


# --- rows -------------------------------------------------------------------------------------

def project_ids(codes) -> dict:
    """{code: project id} for the codes that name a project (one query per 500 codes)."""
    codes = sorted(c for c in set(codes) if c)
    found = {}
    for start in range(0, len(codes), CODE_CHUNK):
        chunk = codes[start:start + CODE_CHUNK]
        found.update(db.session.execute(select(Project.code, Project.id).where(Project.code.in_(chunk))).all())
    return found


def parse_rows(table, mapping, *, priority_map=None, on_progress=None, now=None) -> ParsedCases:
    """Check every row of ``table`` under ``mapping`` ({field: header}; DomainError if unusable)
    and return the clean cases and the errors. ``priority_map`` defaults to the setting
    ``cases.priority_map``; ``on_progress(done, total)`` is called every 1,000 rows."""
    mapping = check_mapping(mapping, table.headers)
    if priority_map is None:
        from ..settings import get_setting
        priority_map = get_setting("cases.priority_map")
    priorities = normalize_priority_map(priority_map)
    column = {f: table.headers.index(h) for f, h in mapping.items() if h is not None}
    header = {f: h for f, h in mapping.items() if h is not None}
    zone = portal_zone()
    latest = (now or utcnow()) + FUTURE_GRACE
    rows, numbers = table.rows, table.row_numbers
    total = len(rows)
    projects = project_ids(cell_text(row[column["project_code"]]) for row in rows)

    i_id, i_project, i_priority, i_reporter, i_closed = (
        column[f] for f in ("case_id", "project_code", "priority", "reporter", "closed_at"))
    i_phone, i_summary, i_engineer, i_opened = (
        column.get(f) for f in ("reporter_phone", "summary", "engineer", "opened_at"))
    id_max, reporter_max, phone_max, engineer_max = (
        LIMITS[f] for f in ("case_id", "reporter", "reporter_phone", "engineer"))
    result = ParsedCases(rows_read=total)
    cases, errors = result.cases, result.errors
    seen_ids, priority_cache, quarter_cache = {}, {}, {}
    missing = {f: _l("Required: %(field)s is empty.", field=FIELD_LABELS[f]) for f in FIELD_LABELS}
    too_long = {f: _l("Too long: at most %(num)d characters.", num=n) for f, n in LIMITS.items()}

    bad = []  # this row's (field, cell, message)
    for n, row in enumerate(rows):
        if on_progress is not None and n and n % PROGRESS_EVERY == 0:
            on_progress(n, total)

        cell = row[i_id]
        external_id = cell.strip() if cell.__class__ is str else cell_text(cell)
        if not external_id:
            bad.append(("case_id", cell, missing["case_id"]))
        else:
            if len(external_id) > id_max:
                bad.append(("case_id", cell, too_long["case_id"]))
            first = seen_ids.get(external_id)
            if first is None:
                seen_ids[external_id] = numbers[n]
            else:
                bad.append(("case_id", cell, _l("This case id is also in row %(row)d.", row=first)))

        cell = row[i_project]
        code = cell.strip() if cell.__class__ is str else cell_text(cell)
        project_id = projects.get(code)
        if project_id is None:
            bad.append(("project_code", cell, missing["project_code"] if not code
                        else _l("No project has this code.")))

        cell = row[i_priority]
        priority = priority_cache.get(cell, False) if cell.__class__ is str else False
        if priority is False:
            raw = cell_text(cell)
            priority = parse_priority(raw, priorities) if raw else ""
            if cell.__class__ is str:
                priority_cache[cell] = priority
        if not priority:
            bad.append(("priority", cell, missing["priority"] if priority == "" else
                        _l("Not a known priority: add it to the ticket priorities in the settings.")))

        cell = row[i_reporter]
        reporter = cell.strip() if cell.__class__ is str else cell_text(cell)
        if not reporter:
            bad.append(("reporter", cell, missing["reporter"]))
        elif len(reporter) > reporter_max:
            bad.append(("reporter", cell, too_long["reporter"]))

        phone = summary = engineer = None
        if i_phone is not None:
            cell = row[i_phone]
            phone = (cell.strip() if cell.__class__ is str else cell_text(cell)) or None
            if phone is not None and len(phone) > phone_max:
                bad.append(("reporter_phone", cell, too_long["reporter_phone"]))
        if i_engineer is not None:
            cell = row[i_engineer]
            engineer = (cell.strip() if cell.__class__ is str else cell_text(cell)) or None
            if engineer is not None and len(engineer) > engineer_max:
                bad.append(("engineer", cell, too_long["engineer"]))
        if i_summary is not None:
            cell = row[i_summary]
            summary = (cell.strip() if cell.__class__ is str else cell_text(cell)) or None

        opened_at = None
        if i_opened is not None:
            try:
                opened_at, _local = _moment(row[i_opened], zone)
            except _BadValue as exc:
                bad.append(("opened_at", row[i_opened], exc.message))
        cell = row[i_closed]
        try:
            closed_at, closed_local = _moment(cell, zone)
        except _BadValue as exc:
            closed_at = None
            bad.append(("closed_at", cell, exc.message))
        else:
            if closed_at is None:
                bad.append(("closed_at", cell, missing["closed_at"]))
            else:
                if opened_at is not None and closed_at < opened_at:
                    bad.append(("closed_at", cell, _l("Closed before it was opened.")))
                if closed_at > latest:
                    bad.append(("closed_at", cell, _l("The closing time is in the future.")))

        if bad:
            number = numbers[n]
            errors.extend(RowError(number, header[f], _shown(c), message) for f, c, message in bad)
            bad = []
            continue
        day = closed_local.date()
        quarter = quarter_cache.get(day)
        if quarter is None:
            quarter = quarter_cache[day] = quarter_of(day)
        cases.append({"external_id": external_id, "project_id": project_id, "priority": priority,
                      "reporter": reporter, "reporter_phone": phone, "opened_at": opened_at,
                      "closed_at": closed_at, "quarter": quarter, "summary": summary, "engineer": engineer})
    if on_progress is not None:
        on_progress(total, total)
    return result
