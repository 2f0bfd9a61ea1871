"""Settings: a registry of typed values that the administrator (and, for its own keys, the
quality department) changes on screen. ``get_setting`` is the one way to read one: the
stored value, else the registered default. ``set_setting`` validates by kind, stores JSON
and audits the change; it flushes, the caller commits.

Kinds: ``int``, ``float``, ``list`` (entries ``{"code", "zh", "en"}``), ``user_ids`` (ids of
users holding ``user_role``), ``dates`` (ISO date → ``"workday"`` | ``"holiday"``) and
``priority_map`` (a ticket system's priority word, lower-case → ``P1``…``P4``).
"""
import copy
import math
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import transaction_memo
from ..extensions import db
from ..models import Setting, User
from . import DomainError
from .audit import record_event
from .quarters import MAX_YEAR, MIN_YEAR

KINDS = ("int", "float", "list", "user_ids", "dates", "priority_map")
PRIORITY_CODES = ("P1", "P2", "P3", "P4")
DAY_KINDS = ("workday", "holiday")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_ENTRIES = 200


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: str
    default: object
    label: object  # lazy string
    help: object  # lazy string
    editors: tuple = ("admin",)
    minimum: float | None = None  # int/float: bounds, inclusive
    maximum: float | None = None
    user_role: str | None = None  # user_ids: the role every listed user must hold


def _entries(*triples):
    return tuple({"code": code, "zh": zh, "en": en} for code, zh, en in triples)


SPECS = {spec.key: spec for spec in (
    SettingSpec(
        "followup.low_score_threshold", "float", 3.0,
        _l("Low score threshold"),
        _l("A response with any normalized score (1–5) at or below this value opens a follow-up "
           "for the project's PM."),
        editors=("admin", "quality"), minimum=1.0, maximum=5.0),
    SettingSpec(
        "followup.due_working_days", "int", 10,
        _l("Follow-up due in (working days)"),
        _l("A follow-up not resolved within this many working days after it was opened is overdue."),
        editors=("admin", "quality"), minimum=1, maximum=250),
    SettingSpec(
        "problems.directions", "list", _entries(
            ("attitude", "服务态度", "Service attitude"),
            ("timeliness", "响应及时性", "Response timeliness"),
            ("technical", "技术能力", "Technical capability"),
            ("communication", "沟通", "Communication"),
            ("documentation", "文档资料", "Documentation"),
            ("commercial", "商务", "Commercial"),
            ("other", "其他", "Other")),
        _l("Problem directions"),
        _l("What a problem raised in a response or follow-up is about; rollups count by direction."),
        editors=("admin", "quality")),
    SettingSpec(
        "problems.types", "list", _entries(
            ("complaint", "投诉", "Complaint"),
            ("suggestion", "建议", "Suggestion"),
            ("inquiry", "咨询", "Inquiry"),
            ("praise", "表扬", "Praise")),
        _l("Problem types"),
        _l("The kind of problem raised; rollups count by type."),
        editors=("admin", "quality")),
    SettingSpec(
        "escalation.recipients", "user_ids", (),
        _l("Escalation recipients"),
        _l("Executives who receive escalated follow-ups and complaints. None chosen: every executive."),
        user_role="exec"),
    SettingSpec(
        "calendar.overrides", "dates", {},
        _l("Calendar corrections"),
        _l("Days that differ from China's official calendar (holidays and make-up working days), or "
           "the holidays and make-up days of a year the calendar does not know yet. A year with any "
           "line here counts as known: enter all of its holidays and make-up working days."),
        editors=("admin",)),
    *(SettingSpec(
        f"callback.rate_{p.lower()}", "float", rate,
        _l("Callback rate %(priority)s", priority=p),
        _l("Share of the quarter's closed %(priority)s cases whose reporters the quality desk must "
           "reach (0–1; 0.8 = 80 %%).", priority=p),
        editors=("admin", "quality"), minimum=0.0, maximum=1.0)
      for p, rate in (("P1", 0.8), ("P2", 0.5), ("P3", 0.2), ("P4", 0.05))),
    SettingSpec(
        "callback.max_attempts", "int", 3,
        _l("Call attempts before a replacement"),
        _l("A reporter not reached after this many attempts (no answer, busy) is replaced by another "
           "case drawn at random; a refusal or a wrong number is replaced at once."),
        editors=("admin", "quality"), minimum=1, maximum=20),
    SettingSpec(
        "cases.priority_map", "priority_map", {
            "p1": "P1", "1": "P1", "critical": "P1", "urgent": "P1", "紧急": "P1", "特急": "P1",
            "p2": "P2", "2": "P2", "high": "P2", "major": "P2", "高": "P2", "重要": "P2",
            "p3": "P3", "3": "P3", "medium": "P3", "normal": "P3", "中": "P3", "一般": "P3",
            "p4": "P4", "4": "P4", "low": "P4", "minor": "P4", "低": "P4", "轻微": "P4"},
        _l("Ticket priorities"),
        _l("How the ticket system's priority values map to P1–P4, one per line (e.g. 紧急 = P1). "
           "Values are matched ignoring case; “1 - Critical” matches through its parts."),
        editors=("admin", "quality")),
    SettingSpec(
        "complaints.first_contact_hours", "int", 24,
        _l("Complaints: first contact within (working hours)"),
        _l("The complainant must be contacted within this many working hours of the complaint "
           "being registered."),
        editors=("admin", "quality"), minimum=1, maximum=2000),
    SettingSpec(
        "complaints.resolution_hours", "int", 48,
        _l("Complaints: resolution within (working hours)"),
        _l("An ordinary complaint must be resolved (the client told the outcome) within this many "
           "working hours; time spent waiting for the complainant does not count."),
        editors=("admin", "quality"), minimum=1, maximum=5000),
    SettingSpec(
        "complaints.complex_resolution_hours", "int", 120,
        _l("Complaints: resolution of a complex case within (working hours)"),
        _l("The longer limit of a complaint marked complex; it applies only once the complainant has "
           "been told that more time is needed."),
        editors=("admin", "quality"), minimum=1, maximum=10000),
    SettingSpec(
        "complaints.workday_start_hour", "int", 9,
        _l("Working hours start"),
        _l("Complaint time limits count working hours on China's working days from this hour ..."),
        editors=("admin",), minimum=0, maximum=23),
    SettingSpec(
        "complaints.workday_end_hour", "int", 18,
        _l("Working hours end"),
        _l("... to this hour (local time)."),
        editors=("admin",), minimum=1, maximum=24),
    SettingSpec(
        "complaints.exec_approval_amount", "float", 5000.0,
        _l("Compensation needing an executive (yuan)"),
        _l("A remedy with compensation above this amount must be approved by an executive; below it a "
           "department head may approve."),
        editors=("admin", "quality"), minimum=0.0, maximum=100_000_000.0),
    SettingSpec(
        "verification.fast_seconds", "int", 60,
        _l("Suspiciously fast form (seconds)"),
        _l("An online form submitted sooner than this after its link was opened is flagged for the quality "
           "department to look at before verifying it."),
        editors=("admin", "quality"), minimum=0, maximum=3600),
    SettingSpec(
        "rollup.low_confidence_n", "int", 20,
        _l("Score sheets: low confidence below (responses)"),
        _l("A person or group with fewer responses than this is marked low-confidence on score sheets and "
           "reports."),
        editors=("admin", "quality"), minimum=2, maximum=1000),
    SettingSpec(
        "rollup.too_few_n", "int", 5,
        _l("Score sheets: too few to judge below (responses)"),
        _l("A person or group with fewer responses than this is marked “too few to judge” and is not "
           "ranked."),
        editors=("admin", "quality"), minimum=1, maximum=100),
    *(SettingSpec(
        f"improvement.check_{n}_days", "int", days,
        label, _l("An improvement plan's effect is checked this many days after its measures were done; "
                  "the plan closes only once a check found it effective."),
        editors=("admin", "quality"), minimum=1, maximum=730)
      for n, days, label in ((1, 30, _l("Improvement plans: first effect check (days)")),
                             (2, 60, _l("Improvement plans: second effect check (days)")),
                             (3, 90, _l("Improvement plans: third effect check (days)")))),
    SettingSpec(
        "archive.retention_years", "int", 3,
        _l("Archive: years a form is kept"),
        _l("A handed-over form is kept read-only for this many years before it may be disposed of. The policy "
           "requires three years: it cannot be set lower."),
        editors=("admin",), minimum=3, maximum=30),
)}


def get_spec(key) -> SettingSpec:
    """The registered spec; KeyError for an unknown key."""
    return SPECS[key]


_ROWS = transaction_memo("settings.rows")


def _rows() -> dict:
    """The stored settings by key, read in one statement the first time a transaction asks (a
    page asks for a dozen, and a key without a row cost a statement each time); forgotten when
    the transaction (or a savepoint) ends, and when set_setting writes."""
    rows = db.session.info.get(_ROWS)
    if rows is None:
        rows = db.session.info[_ROWS] = {row.key: row for row in db.session.scalars(select(Setting))}
    return rows


def get_setting(key):
    """The typed value of ``key``: the stored one, else the default (a copy: changing it changes
    nothing). KeyError for an unknown key."""
    spec = SPECS[key]
    row = _rows().get(key)
    value = row.value if row is not None else spec.default
    return _typed(spec, value)


def all_settings():
    """{key: value} for every registered setting, in one query."""
    stored = {key: row.value for key, row in _rows().items()}
    return {key: _typed(spec, stored.get(key, spec.default)) for key, spec in SPECS.items()}


def can_edit_setting(user, key) -> bool:
    return user is not None and user.has_role(*SPECS[key].editors)


def set_setting(key, value, *, actor):
    """Validate ``value`` for the key's kind, store it and audit before/after; returns the stored
    value. Only users holding one of the spec's ``editors`` roles may change it."""
    spec = SPECS[key]
    if not can_edit_setting(actor, key):
        raise DomainError(_("You may not change this setting."))
    value = _validate(spec, value)
    row = db.session.get(Setting, key)
    before = _typed(spec, row.value if row is not None else spec.default)
    if value == before:
        return value
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by_id = actor.id
    record_event("setting_changed", actor=actor, object_type="Setting", object_id=key,
                 detail={"key": key, "before": before, "after": value})
    db.session.flush()
    db.session.info.pop(_ROWS, None)
    return value


def setting_choices(key, locale):
    """(code, name in ``locale``) for a list setting, e.g. the problem directions of a select."""
    return [(e["code"], e["zh"] if locale == "zh" else e["en"]) for e in get_setting(key)]


# --- kinds ------------------------------------------------------------------------------------

def _typed(spec, value):
    if spec.kind == "int":
        return int(value)
    if spec.kind == "float":
        return float(value)
    if spec.kind == "list":
        return [dict(e) for e in value]
    if spec.kind == "user_ids":
        return [int(v) for v in value]
    return copy.deepcopy(dict(value))  # dates, priority_map


def _error(message):
    return DomainError(message, field="value")


def _validate(spec, value):
    return _VALIDATORS[spec.kind](spec, value)


def _check_bounds(spec, number):
    if spec.minimum is not None and number < spec.minimum or spec.maximum is not None and number > spec.maximum:
        raise _error(_("Enter a value from %(lo)s to %(hi)s.", lo=spec.minimum, hi=spec.maximum))
    return number


def _validate_int(spec, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(_("Enter a whole number."))
    return _check_bounds(spec, value)


def _validate_float(spec, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _error(_("Enter a number."))
    return _check_bounds(spec, float(value))


def _validate_list(spec, value):
    if not isinstance(value, (list, tuple)) or not value:
        raise _error(_("Enter at least one entry."))
    if len(value) > MAX_ENTRIES:
        raise _error(_("At most %(num)d entries.", num=MAX_ENTRIES))
    result, seen = [], set()
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"code", "zh", "en"}:
            raise _error(_("Each entry needs a code, a Chinese name and an English name."))
        code, zh, en = (str(entry[k]).strip() if isinstance(entry[k], str) else "" for k in ("code", "zh", "en"))
        if not CODE_RE.match(code):
            raise _error(_("Code %(code)s: lower-case letters, digits and _ only, starting with a letter.",
                           code=code))
        if code in seen:
            raise _error(_("Code %(code)s appears twice.", code=code))
        if not zh or not en or len(zh) > 60 or len(en) > 60:
            raise _error(_("Code %(code)s needs a Chinese and an English name (at most 60 characters).",
                           code=code))
        seen.add(code)
        result.append({"code": code, "zh": zh, "en": en})
    return result


def _validate_user_ids(spec, value):
    if not isinstance(value, (list, tuple)) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise _error(_("Choose users from the list."))
    ids = sorted(set(value))
    if ids:
        users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
        valid = {u.id for u in users if u.active and (spec.user_role is None or u.has_role(spec.user_role))}
        if valid != set(ids):
            raise _error(_("Choose active users from the list."))
    return ids


def _validate_dates(spec, value):
    if not isinstance(value, dict):
        raise _error(_("Enter dates with workday or holiday."))
    result = {}
    for day, kind in value.items():
        try:
            parsed = day if isinstance(day, date) else date.fromisoformat(str(day))
        except ValueError:
            raise _error(_("%(day)s is not a date (YYYY-MM-DD).", day=day)) from None
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise _error(_("%(day)s is outside the years %(lo)d–%(hi)d.", day=parsed.isoformat(),
                           lo=MIN_YEAR, hi=MAX_YEAR))
        if kind not in DAY_KINDS:
            raise _error(_("%(day)s: say workday or holiday.", day=parsed.isoformat()))
        result[parsed.isoformat()] = kind
    return dict(sorted(result.items()))


def _validate_priority_map(spec, value):
    if not isinstance(value, dict) or not value:
        raise _error(_("Enter at least one value = priority line."))
    if len(value) > MAX_ENTRIES:
        raise _error(_("At most %(num)d entries.", num=MAX_ENTRIES))
    result = {}
    for raw, priority in value.items():
        word = " ".join(str(raw).split()).lower()
        if not word or len(word) > 40:
            raise _error(_("Each value needs 1 to 40 characters."))
        if priority not in PRIORITY_CODES:
            raise _error(_("%(value)s: the priority must be P1, P2, P3 or P4.", value=word))
        result[word] = priority
    return dict(sorted(result.items(), key=lambda item: (item[1], item[0])))


_VALIDATORS = {"int": _validate_int, "float": _validate_float, "list": _validate_list,
               "user_ids": _validate_user_ids, "dates": _validate_dates,
               "priority_map": _validate_priority_map}


# --- the text the settings screen edits ---------------------------------------------------------

def setting_as_text(key, value) -> str:
    """The value as the settings screen edits it: a number, ``code | 中文 | English`` lines, or
    ``2031-10-01 holiday`` lines (user ids are chosen from a list, not typed)."""
    kind = SPECS[key].kind
    if kind == "list":
        return "\n".join(f"{e['code']} | {e['zh']} | {e['en']}" for e in value)
    if kind == "dates":
        return "\n".join(f"{day} {what}" for day, what in value.items())
    if kind == "priority_map":
        return "\n".join(f"{word} = {priority}" for word, priority in value.items())
    if kind == "user_ids":
        return ", ".join(str(v) for v in value)
    return f"{value:g}" if kind == "float" else str(value)


def setting_from_text(key, text):
    """Parse what the screen sent into the key's type (DomainError at field ``value``);
    ``set_setting`` then checks the rules."""
    kind = SPECS[key].kind
    text = (text or "").strip()
    if kind == "int":
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise _error(_("Enter a whole number."))
        return int(text)
    if kind == "float":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise _error(_("Enter a number.")) from None
        if not math.isfinite(number):
            raise _error(_("Enter a number."))
        return number
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if kind == "list":
        entries = []
        for n, line in lines:
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3:
                raise _error(_("Line %(num)d: write code | 中文 | English.", num=n))
            entries.append(dict(zip(("code", "zh", "en"), parts)))
        return entries
    if kind == "dates":
        days = {}
        for n, line in lines:
            parts = line.split()
            if len(parts) != 2 or parts[1].lower() not in DAY_KINDS:
                raise _error(_("Line %(num)d: write a date and workday or holiday, e.g. 2031-10-01 holiday.",
                               num=n))
            try:
                day = date.fromisoformat(parts[0]).isoformat()
            except ValueError:
                raise _error(_("Line %(num)d: %(day)s is not a date (YYYY-MM-DD).", num=n, day=parts[0])) from None
            if day in days:
                raise _error(_("Line %(num)d: %(day)s is listed twice.", num=n, day=day))
            days[day] = parts[1].lower()
        return days
    if kind == "priority_map":
        mapping = {}
        for n, line in lines:
            word, sep, priority = line.rpartition("=")
            if not sep or not word.strip():
                raise _error(_("Line %(num)d: write a value = a priority, e.g. 紧急 = P1.", num=n))
            mapping[word.strip()] = priority.strip().upper()
        return mapping
    try:
        return [int(v) for v in re.split(r"[\s,]+", text) if v]
    except ValueError:
        raise _error(_("Choose users from the list.")) from None


def user_choices(key):
    """(id, name) of the users a ``user_ids`` setting may list: active holders of its role."""
    spec = SPECS[key]
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)).all()
    return [(u.id, u.display_name) for u in users if spec.user_role is None or u.has_role(spec.user_role)]
