"""Importing a ticket export all-or-nothing (DESIGN §4.3.1), in a request, a command or a job.

``import_cases`` reads and checks the whole file first; a file with any error is recorded as a
rejected import and nothing else is written. A clean file is written in the caller's one
transaction: new cases inserted in bulk, changed ones updated (each with a ``case_updated``
audit event), unchanged ones left alone, so importing the same file again changes nothing.
It flushes; the caller commits (the job runner, the command, the view).
"""
import csv
import gc
import hashlib
import io
import os
import re
import secrets
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from ...extensions import db
from ...jobs import JobFailed, job_handler, progress, start_job, write_phase
from ...models import CaseImport, ServiceCase, User
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..spreadsheets import safe_cell
from .mapping import FIELDS, guess_mapping
from .reading import FileRefused, read_table
from .rows import parse_rows

#: the case columns an import sets; a case whose values all match is unchanged
COMPARED = ("project_id", "priority", "reporter", "reporter_phone", "opened_at", "closed_at", "quarter",
            "summary", "engineer")
ID_CHUNK = 500
#: PostgreSQL takes a chunk's ids as one array parameter: fewer, larger queries (each one a scan
#: of the index, or of a small table)
PG_ID_CHUNK = 5000
INSERT_CHUNK = 5000
UPDATE_CHUNK = 1000
MAX_STORED_ERRORS = 1000
STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
ERRORS_CSV_COLUMNS = ("row", "column", "value", "message")


def clean_file_name(name) -> str:
    """The uploaded file's name for the record: no path, no control characters."""
    name = os.path.basename(str(name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or "cases"


@contextmanager
def _without_cyclic_gc():
    """A file becomes hundreds of thousands of lists, dicts and strings, none of them in a cycle:
    the cyclic collector would walk them all again and again (reading a 100,000-row file takes
    40 % longer with it). It runs again afterwards, if it ran before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_cases(data: bytes, filename: str, user, mapping, *, sheet=None, job=None) -> CaseImport:
    """Read, check and (when clean) write the cases of one file; returns its CaseImport
    (state ``imported`` or ``rejected``). ``mapping``: {field: header}, or None to guess it from
    the headers. With a ``job``, progress is reported and ``write_phase`` marks the writing."""
    with _without_cyclic_gc():
        return _import_cases(data, filename, user, mapping, sheet, job)


def _import_cases(data, filename, user, mapping, sheet, job):
    filename = clean_file_name(filename)
    record = CaseImport(file_name=filename, sha256=hashlib.sha256(data).hexdigest(),
                        imported_by_id=user.id if user is not None else None)
    report = None
    if job is not None:
        def report(done, total=None, stage=None):
            progress(job, done, total, stage=stage)
        report(0, None, "reading")
    table = parsed = problem = None
    try:
        table = read_table(data, filename, sheet)
        record.encoding, record.sheet = table.encoding, table.sheet
        if mapping is None:
            mapping = guess_mapping(table.headers)
        if report is not None:
            report(0, len(table.rows), "checking")
        parsed = parse_rows(table, mapping, on_progress=(lambda done, total: report(done, total, "checking"))
                            if report is not None else None)
    except DomainError as exc:
        problem = exc
    record.mapping = {f: h for f, h in (mapping or {}).items() if f in FIELDS and isinstance(h, str) and h}
    if job is not None:
        write_phase(job, done=0)
    record.rows_read = len(table.rows) if table is not None else 0
    if problem is not None or not parsed.ok:
        record.state = "rejected"
        if problem is not None:
            record.errors = [{"row": None, "column": None, "value": "", "message": str(problem.message)}]
        else:
            record.rows_rejected = parsed.rows_rejected
            record.errors = [e.as_dict() for e in parsed.errors[:MAX_STORED_ERRORS]]
        db.session.add(record)
        db.session.flush()
        return record
    _write(record, parsed.cases, user, report)
    return record


#: positional parameter markers of the drivers the portal runs on (SQLite, psycopg)
_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
#: the columns every driver takes as they are (datetimes follow, SQLite wants them as text)
_PLAIN_COLUMNS = ("external_id", "project_id", "priority", "reporter", "reporter_phone", "quarter", "summary",
                  "engineer", "import_id")
#: the columns a new case is inserted with, in the order of the driver-level INSERT
INSERT_COLUMNS = (*_PLAIN_COLUMNS, "opened_at", "closed_at", "created_at")


def _driver_marker(connection):
    """The driver's positional marker when the portal knows its types (SQLite, PostgreSQL)."""
    if connection.dialect.name in ("sqlite", "postgresql"):
        return _MARKERS.get(connection.dialect.paramstyle)
    return None


def _insert_chunk(rows):
    """Insert new cases with the driver's own ``executemany``: SQLAlchemy's per-row parameter
    processing (ORM or Core) costs as much as the database's work (bench/import_cases.py).
    SQLite gets datetimes as text in SQLAlchemy's own storage format ("2026-10-03 06:05:00.000000");
    psycopg takes them as they are; any other database goes through the ORM bulk insert."""
    connection = db.session.connection()
    marker = _driver_marker(connection)
    if marker is None:
        db.session.execute(insert(ServiceCase), rows)
        return
    sql = (f"INSERT INTO {ServiceCase.__tablename__} ({', '.join(INSERT_COLUMNS)}) "
           f"VALUES ({', '.join([marker] * len(INSERT_COLUMNS))})")
    plain = itemgetter(*_PLAIN_COLUMNS)
    if connection.dialect.name == "sqlite":
        iso = datetime.isoformat
        created = iso(rows[0]["created_at"], " ", "microseconds")
        params = [(*plain(r), None if r["opened_at"] is None else iso(r["opened_at"], " ", "microseconds"),
                   iso(r["closed_at"], " ", "microseconds"), created) for r in rows]
    else:
        params = [(*plain(r), r["opened_at"], r["closed_at"], r["created_at"]) for r in rows]
    connection.exec_driver_sql(sql, params)


def _update_chunk(rows):
    db.session.execute(update(ServiceCase), rows)


def existing_cases(external_ids) -> dict:
    """{external id: {id, external_id, *COMPARED}} for the ids already imported: one query per
    ID_CHUNK ids (PG_ID_CHUNK on PostgreSQL, as one array parameter), on the driver with the
    values typed as the ORM types them (SQLAlchemy's expansion of a 500-value IN costs more than
    the query itself)."""
    connection = db.session.connection()
    columns = ("id", "external_id", *COMPARED)
    found = {}
    marker = _driver_marker(connection)
    if marker is None:
        selected = [getattr(ServiceCase, c) for c in columns]
        for start in range(0, len(external_ids), ID_CHUNK):
            chunk = external_ids[start:start + ID_CHUNK]
            for row in db.session.execute(select(*selected).where(ServiceCase.external_id.in_(chunk))):
                found[row.external_id] = dict(row._mapping)
        return found
    dialect, table = connection.dialect, ServiceCase.__table__
    processors = [dialect.type_descriptor(table.c[c].type).result_processor(dialect, None) for c in columns]
    typed = [(i, p) for i, p in enumerate(processors) if p is not None]
    select_list = ", ".join(columns)
    step = PG_ID_CHUNK if dialect.name == "postgresql" else ID_CHUNK
    for start in range(0, len(external_ids), step):
        chunk = tuple(external_ids[start:start + step])
        if dialect.name == "postgresql":  # joined to the array: "= ANY(array)" tests each row against each id
            sql = (f"SELECT {', '.join('c.' + c for c in columns)} FROM {table.name} c "
                   f"JOIN unnest(%s::text[]) AS ids(external_id) ON c.external_id = ids.external_id")
            params = (list(chunk),)
        else:
            sql, params = (f"SELECT {select_list} FROM {table.name} "
                           f"WHERE external_id IN ({', '.join([marker] * len(chunk))})"), chunk
        for raw in connection.exec_driver_sql(sql, params):
            values = list(raw)
            for i, processor in typed:
                values[i] = processor(values[i])
            row = dict(zip(columns, values))
            found[row["external_id"]] = row
    return found


def _write(record, cases, user, report):
    now = utcnow()
    record.state = "imported"
    record.imported_at = now
    db.session.add(record)
    db.session.flush()
    existing = existing_cases([case["external_id"] for case in cases])
    new, changed = [], []
    for case in cases:
        old = existing.get(case["external_id"])
        if old is None:
            case["import_id"] = record.id
            case["created_at"] = now
            new.append(case)
            continue
        diff = {f: [old[f], case[f]] for f in COMPARED if old[f] != case[f]}
        if diff:
            changed.append((old["id"], case, diff))
    total, done = len(new) + len(changed), 0
    for start in range(0, len(new), INSERT_CHUNK):
        _insert_chunk(new[start:start + INSERT_CHUNK])
        done += min(INSERT_CHUNK, len(new) - start)
        if report is not None:
            report(done, total, "writing")
    updates = [{"id": case_id, **{f: case[f] for f in COMPARED}, "import_id": record.id, "updated_at": now}
               for case_id, case, _diff in changed]
    for start in range(0, len(updates), UPDATE_CHUNK):
        _update_chunk(updates[start:start + UPDATE_CHUNK])
        done += min(UPDATE_CHUNK, len(updates) - start)
        if report is not None:
            report(done, total, "writing")
    for case_id, case, diff in changed:
        record_event("case_updated", actor=user, object_type="ServiceCase", object_id=case_id,
                     detail={"external_id": case["external_id"], "import": record.id, "changes": diff})
    record.rows_added, record.rows_updated = len(new), len(changed)
    record.rows_unchanged = len(cases) - len(new) - len(changed)
    record_event("cases_imported", record, actor=user, detail={
        "file": record.file_name, "sha256": record.sha256, "rows_read": record.rows_read,
        "added": record.rows_added, "updated": record.rows_updated, "unchanged": record.rows_unchanged})
    db.session.flush()


def errors_csv(case_import) -> bytes:
    """The import's errors as CSV (UTF-8 with BOM, for Excel): row, column, value, message;
    cells a spreadsheet would run as a formula are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ERRORS_CSV_COLUMNS)
    for error in case_import.errors or ():
        writer.writerow([safe_cell("" if error.get(k) is None else error.get(k)) for k in ERRORS_CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- the background job -------------------------------------------------------------------------

def import_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "imports"


def store_import_file(data: bytes) -> str:
    """Keep an uploaded export under a random name until its job reads it; returns the name."""
    folder = import_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return stored_name


def import_file_path(stored_name) -> Path | None:
    """The stored export, or None if it is gone (or the name is not one of ours)."""
    if not STORED_NAME.match(stored_name or ""):
        return None
    path = import_folder() / stored_name
    return path if path.is_file() else None


def queue_import(data: bytes, filename: str, user, mapping, sheet=None):
    """Store the file and queue its import (run once the caller commits); returns the Job."""
    from .reading import DEFAULT_MAX_BYTES
    max_bytes = int(current_app.config.get("CASE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))
    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_l("The file is too large (at most %(mb).1f MB).", mb=max_bytes / 1048576))
    stored_name = store_import_file(data)
    return start_job("import_cases", user, stored_name=stored_name, filename=clean_file_name(filename),
                     mapping=mapping, sheet=sheet, user_id=user.id if user is not None else None)


@job_handler("import_cases")
def run_import(job, stored_name, filename, mapping, sheet=None, user_id=None):
    """The job: import the stored file, then delete it (whatever happened)."""
    path = import_file_path(stored_name)
    if path is None:
        raise JobFailed(str(_l("The uploaded file is no longer there: upload it again.")))
    try:
        data = path.read_bytes()
        user = db.session.get(User, user_id) if user_id is not None else None
        record = import_cases(data, filename, user, mapping, sheet=sheet, job=job)
        return {"import_id": record.id, "state": record.state, "rows_read": record.rows_read,
                "rows_added": record.rows_added, "rows_updated": record.rows_updated,
                "rows_unchanged": record.rows_unchanged, "rows_rejected": record.rows_rejected}
    finally:
        path.unlink(missing_ok=True)
