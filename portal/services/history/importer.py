"""Importing a historical results file all-or-nothing, inline or as the ``import_history`` job.

``import_history`` reads and checks the whole file first (the ticket import's reader: CSV in UTF-8
or GB18030/GBK, or XLSX); a file with any error writes nothing and returns the errors by row. A clean
file is written in the caller's transaction: results for a new (quarter, project, dimension)
inserted, a different value for one already imported replaces the older one, identical values are
left alone, so importing the same file again changes nothing (and no import is recorded). It
flushes; the caller commits (the view, the job runner, the demo loader).
"""
import hashlib
from dataclasses import asdict, dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from ...extensions import db
from ...jobs import JobFailed, job_handler, progress, start_job, write_phase
from ...models import HistoricalResult, HistoryImport, User
from .. import DomainError
from ..audit import record_event
from ..cases.importer import clean_file_name, import_file_path, store_import_file
from ..cases.reading import DEFAULT_MAX_BYTES, FileRefused, read_table
from .rows import parse_history_rows

#: a file up to this size is imported in the request; a larger one as a background job
INLINE_MAX_BYTES = 256 * 1024
MAX_STORED_ERRORS = 1000
#: how many replaced values the import's audit event lists one by one
MAX_AUDITED_CHANGES = 1000
ID_CHUNK = 500
COMPARED = ("responses", "score", "satisfaction_rate")


@dataclass(frozen=True)
class HistoryOutcome:
    """What an import did (or why it did nothing): plain data for the pages and a job's result."""
    file_name: str
    sha256: str
    rows_read: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    import_id: int | None = None      # None: nothing written (errors, or nothing new)
    quarters: tuple = ()
    encoding: str | None = None
    sheet: str | None = None
    errors: tuple = ()                # ({row, column, value, message}, …), row None for the whole file
    errors_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed_nothing(self) -> bool:
        return self.ok and self.import_id is None

    @property
    def rows_rejected(self) -> int:
        return len({e["row"] for e in self.errors if e["row"] is not None})

    def as_dict(self) -> dict:
        values = asdict(self)
        values["quarters"], values["errors"] = list(self.quarters), [dict(e) for e in self.errors]
        return values

    @classmethod
    def from_dict(cls, values) -> "HistoryOutcome":
        known = {k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__}
        known["quarters"] = tuple(known.get("quarters") or ())
        known["errors"] = tuple(known.get("errors") or ())
        return cls(**{"file_name": "", "sha256": "", **known})


def import_history(data: bytes, filename: str, user, *, job=None, now=None) -> HistoryOutcome:
    """Read, check and (when clean) write the results of one file; returns what it did. With a
    ``job``, progress is reported and ``write_phase`` marks the writing; ``now``: naive UTC, the
    moment deciding which quarters are past (default the clock)."""
    filename = clean_file_name(filename)
    base = {"file_name": filename, "sha256": hashlib.sha256(data).hexdigest()}
    report = None
    if job is not None:
        def report(done, total=None, stage=None):
            progress(job, done, total, stage=stage)
        report(0, None, "reading")
    try:
        table = read_table(data, filename)
    except DomainError as exc:
        return HistoryOutcome(**base, errors=({"row": None, "column": None, "value": "",
                                               "message": str(exc.message)},), errors_total=1)
    base.update(rows_read=len(table.rows), encoding=table.encoding, sheet=table.sheet)
    if report is not None:
        report(0, len(table.rows), "checking")
    parsed = parse_history_rows(table, now=now, on_progress=(lambda done, total: report(done, total, "checking"))
                                if report is not None else None)
    if not parsed.ok:
        return HistoryOutcome(**base, errors=tuple(e.as_dict() for e in parsed.errors[:MAX_STORED_ERRORS]),
                              errors_total=len(parsed.errors))
    if job is not None:
        write_phase(job, done=0)
        user = db.session.get(User, user.id) if user is not None else None
    return _write(parsed.results, base, user)


def existing_results(results) -> dict:
    """{(quarter, project_id, dimension): HistoricalResult} among those already imported."""
    quarters = sorted({r["quarter"] for r in results})
    project_ids = sorted({r["project_id"] for r in results})
    found = {}
    for start in range(0, len(project_ids), ID_CHUNK):
        chunk = project_ids[start:start + ID_CHUNK]
        for old in db.session.scalars(select(HistoricalResult).where(HistoricalResult.quarter.in_(quarters),
                                                                     HistoricalResult.project_id.in_(chunk))):
            found[(old.quarter, old.project_id, old.dimension)] = old
    return found


def _write(results, base, user) -> HistoryOutcome:
    existing = existing_results(results)
    new, changed = [], []
    for result in results:
        old = existing.get((result["quarter"], result["project_id"], result["dimension"]))
        if old is None:
            new.append(result)
        elif any(getattr(old, f) != result[f] for f in COMPARED):
            changed.append((old, result))
    quarters = tuple(sorted({r["quarter"] for r in results}))
    unchanged = len(results) - len(new) - len(changed)
    if not new and not changed:
        record_event("history_import_unchanged", actor=user, object_type="HistoryImport", detail={
            "file": base["file_name"], "sha256": base["sha256"], "rows": base["rows_read"]})
        db.session.flush()
        return HistoryOutcome(**base, unchanged=unchanged, quarters=quarters)
    record = HistoryImport(file_name=base["file_name"], sha256=base["sha256"], rows=base["rows_read"],
                           imported_by_id=user.id if user is not None else None)
    db.session.add(record)
    db.session.flush()
    if new:
        db.session.execute(insert(HistoricalResult), [
            {"quarter": r["quarter"], "project_id": r["project_id"], "dimension": r["dimension"],
             "responses": r["responses"], "score": r["score"], "satisfaction_rate": r["satisfaction_rate"],
             "import_id": record.id} for r in new])
    changes = []
    for old, result in changed:
        if len(changes) < MAX_AUDITED_CHANGES:
            changes.append({"quarter": old.quarter, "project": result["project_code"], "dimension": old.dimension,
                            "before": {f: getattr(old, f) for f in COMPARED} | {"import": old.import_id},
                            "after": {f: result[f] for f in COMPARED}})
        for f in COMPARED:
            setattr(old, f, result[f])
        old.import_id = record.id
    record_event("history_imported", record, actor=user, detail={
        "file": record.file_name, "sha256": record.sha256, "rows": record.rows, "added": len(new),
        "replaced": len(changed), "unchanged": unchanged, "quarters": list(quarters), "replacements": changes})
    db.session.flush()
    return HistoryOutcome(**base, added=len(new), replaced=len(changed), unchanged=unchanged,
                          import_id=record.id, quarters=quarters)


# --- the background job -------------------------------------------------------------------------

def runs_inline(data: bytes) -> bool:
    """A small file is imported in the request; a larger one goes to the worker."""
    return len(data) <= INLINE_MAX_BYTES


def queue_history_import(data: bytes, filename: str, user):
    """Store the file and queue its import (run once the caller commits); returns the Job."""
    max_bytes = int(current_app.config.get("CASE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))
    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_l("The file is too large (at most %(mb).1f MB).", mb=max_bytes / 1048576))
    stored_name = store_import_file(data)
    return start_job("import_history", user, stored_name=stored_name, filename=clean_file_name(filename),
                     user_id=user.id if user is not None else None)


@job_handler("import_history")
def run_history_import(job, stored_name, filename, user_id=None):
    """The job: import the stored file, then delete it (whatever happened); the outcome is its result."""
    path = import_file_path(stored_name)
    if path is None:
        raise JobFailed(str(_l("The uploaded file is no longer there: upload it again.")))
    try:
        data = path.read_bytes()
        user = db.session.get(User, user_id) if user_id is not None else None
        return import_history(data, filename, user, job=job).as_dict()
    finally:
        path.unlink(missing_ok=True)
