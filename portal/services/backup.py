"""Backups of one portal: its database and its stored files, in a directory that restores it.

A backup is a plain directory, so it can be checked, copied and pruned with ordinary tools::

    manifest.json      what is in it: when, from where, rows per table, sha256 of every file,
                       the migration revision; read by ``verify_backup`` and ``restore_backup``
    portal.sqlite3     the SQLite database (the default), a consistent copy
    database.dump      or, on PostgreSQL, ``pg_dump -Fc`` of the database
    files/uploads/...  UPLOAD_FOLDER (scans, complaint evidence, ticket import files)
    files/<name>/...   every other folder of the instance (reports, archive PDFs, ...)

The SQLite copy is made with SQLite's backup API from one read snapshot, a few pages at a
time: in WAL mode a reader never blocks the portal's writers, and the copy holds every
transaction committed before the snapshot and nothing of any later one (a file copy of a
database being written can hold half of one). On PostgreSQL ``pg_dump`` reads the snapshot
in which the rows are counted. The backup is written to a hidden sibling directory and
renamed to its name only when complete, so a failed one (a full disk) leaves nothing
behind and no earlier backup is touched.

Left out on purpose: the jobs queue (``jobs.sqlite3``: queued tasks refer to the live
portal's state) and ``secret_key`` (it signs sessions and links of the running portal;
nothing stored needs it, and a backup should not carry it).
"""
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from sqlalchemy import text

from ..extensions import db
from . import DomainError

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_COPY = "portal.sqlite3"
PG_DUMP = "database.dump"
FILES = "files"
UPLOADS = "uploads"
#: pages copied per step of the backup API (4 MiB at SQLite's default page size), and the
#: pause after each step that leaves the disk to the portal
PAGES_PER_STEP = 1024
PAUSE_SECONDS = 0.002
CHUNK = 1024 * 1024
NOTE = ("secret_key is not included: it signs the running portal's sessions and links. Client links "
        "already sent keep working without it (they are looked up by their hash), but showing a PM an "
        "invitation's link again needs the same SECRET_KEY: keep it in your secrets store, apart from backups. "
        "The jobs queue (jobs.sqlite3) is not included either.")
PG_DUMP_HINT = 'pg_dump -Fc -f portal.dump "$DATABASE_URL"'


class BackupError(DomainError):
    """A backup could not be made, checked or restored; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    engine: str
    tables: dict
    files: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class VerifiedBackup:
    path: Path
    manifest: dict
    files: int
    bytes: int

    @property
    def engine(self):
        return self.manifest["database"]["engine"]

    @property
    def tables(self):
        return self.manifest["tables"]


@dataclass(frozen=True)
class RestoreResult:
    source: Path
    database: str
    tables: dict
    files: int
    folders: list = field(default_factory=list)
    seconds: float = 0.0


# -- backup ---------------------------------------------------------------------------------

def make_backup(target_dir, *, app) -> BackupResult:
    """Write a complete backup of ``app``'s database and stored files to ``target_dir``, which
    must not exist or be empty. Raises BackupError (and leaves no trace) if anything fails."""
    started = time.monotonic()
    target = Path(target_dir).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not empty: choose a new path.")
    sources = _file_sources(app)
    for folder in [Path(app.instance_path)] + [path for _, path in sources]:
        if target == folder.resolve() or folder.resolve() in target.parents:
            raise BackupError(f"{target} is inside {folder}: keep backups outside the portal's folders.")
    url = _database_url(app)
    if url.get_backend_name() == "postgresql" and not shutil.which("pg_dump"):
        raise BackupError(f"pg_dump is not installed; back up the database with {PG_DUMP_HINT} "
                          "(see README, Backups).")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"Cannot back up a {url.get_backend_name()} database.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_stagings(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{_staging_tag()}", dir=target.parent))
    except OSError as exc:
        raise BackupError(f"Backup failed, nothing was written to {target}: {_reason(exc)}") from exc
    try:
        if url.get_backend_name() == "sqlite":
            database = _backup_sqlite(_sqlite_path(url), staging / SQLITE_COPY)
        else:
            database = _backup_postgres(app, staging / PG_DUMP)
        files, folders = {}, []
        live = _live_database_files(url)
        for name, folder in sources:
            folders.append(name)
            for path in _files_under(folder):
                if path.absolute() in live:
                    continue  # the database is in the backup as its copy; never read its file raw
                rel = PurePosixPath(name, *path.relative_to(folder).parts)
                files[str(rel)] = _copy_file(path, staging / FILES / rel)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": {"instance": str(Path(app.instance_path).absolute()),
                       "upload_folder": str(Path(app.config["UPLOAD_FOLDER"]).absolute())},
            "database": database["entry"],
            "revision": database["revision"],
            "tables": database["tables"],
            "folders": folders,
            "files": files,
            "left_out": _left_out(app, url),
            "note": NOTE,
        }
        _write_durably(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        os.replace(staging, target)  # atomic; replaces target only if it is an empty directory
        _fsync_dir(target.parent)
    except (OSError, sqlite3.Error, subprocess.SubprocessError) as exc:
        raise BackupError(f"Backup failed, nothing was written to {target}: {_reason(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    total = database["entry"]["size"] + sum(f["size"] for f in files.values())
    return BackupResult(target, url.get_backend_name(), database["tables"], len(files), total,
                        time.monotonic() - started)


def _staging_tag(pid=None) -> str:
    """What a staging directory's name holds after the backup's name: this machine and process."""
    return f".partial-{socket.gethostname()}-{pid or os.getpid()}-"


def _remove_dead_stagings(folder: Path):
    """A backup killed mid-copy (SIGKILL, power) leaves its hidden staging directory: remove
    those of this machine whose process is gone. Another machine's, or a live process's (a backup
    running now), are left alone."""
    mine = re.compile(r"^\..+" + re.escape(f".partial-{socket.gethostname()}-") + r"(\d+)-[^/]+$")
    for path in folder.iterdir():
        match = mine.match(path.name)
        if not match or not path.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (PermissionError, OverflowError):
            pass  # a live process of another user, or not a pid: not ours to remove


def _backup_sqlite(source: Path, dest: Path) -> dict:
    """Copy ``source`` with the backup API from one read snapshot (BEGIN + a first read), so
    the portal's commits during the copy neither restart it nor get half into it."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    src = sqlite3.connect(source, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout = 15000")
        src.execute("PRAGMA journal_mode = WAL")  # as the portal has it: our snapshot blocks no writer
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=PAGES_PER_STEP, progress=_pause)
        finally:
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    copy = sqlite3.connect(dest, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        check = copy.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            raise BackupError(f"The copy of {source} fails SQLite's integrity check: {check[:3]}")
        tables, revision = _sqlite_counts(copy)
    finally:
        copy.close()
    _fsync(dest)
    return {"entry": {"engine": "sqlite", "file": SQLITE_COPY, "source": str(source),
                      "sha256": _sha256(dest), "size": dest.stat().st_size},
            "tables": tables, "revision": revision}


def _pause(_status, _remaining, _total):
    time.sleep(PAUSE_SECONDS)


def _backup_postgres(app, dest: Path) -> dict:
    """``pg_dump -Fc`` of the snapshot exported by the transaction that counts the rows."""
    with app.app_context():
        engine = db.engine
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                _run([shutil.which("pg_dump"), "-Fc", f"--snapshot={snapshot}",
                      "-f", str(dest), "-d", _libpq_dsn(engine.url)], engine.url)
                tables, revision = _pg_counts(conn)
    _fsync(dest)
    return {"entry": {"engine": "postgresql", "file": PG_DUMP,
                      "source": engine.url.render_as_string(hide_password=True),
                      "sha256": _sha256(dest), "size": dest.stat().st_size},
            "tables": tables, "revision": revision}


def _file_sources(app):
    """(name in the backup, folder): UPLOAD_FOLDER as ``uploads``, then each other folder of
    the instance under its own name."""
    uploads = Path(app.config["UPLOAD_FOLDER"]).absolute()
    sources = [(UPLOADS, uploads)]
    instance = Path(app.instance_path)
    if instance.is_dir():
        for child in sorted(instance.iterdir()):
            if (child.is_dir() and not child.is_symlink() and child.name != UPLOADS
                    and not child.name.startswith(".") and child.resolve() != uploads.resolve()):
                sources.append((child.name, child))
    return sources


def _left_out(app, url):
    """Top-level files of the instance that are not in the backup (the database is, as a copy):
    the jobs queue, secret_key, anything else an operator put there."""
    instance = Path(app.instance_path)
    if not instance.is_dir():
        return []
    database = _sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    copied = {database, Path(f"{database}-wal"), Path(f"{database}-shm")} if database else set()
    return sorted(child.name for child in instance.iterdir()
                  if not child.is_dir() and child.absolute() not in copied)


def _live_database_files(url) -> set:
    """The SQLite database's own files (and its log and shared memory). They are never opened
    as plain files while the portal has the database open: a close() of the database file drops
    every POSIX lock SQLite holds on it in this process, and another process may then delete the
    log under the open connections (SQLite's "how to corrupt" 2.2)."""
    if url.get_backend_name() != "sqlite":
        return set()
    database = _sqlite_path(url).absolute()
    return {database, *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm", "-journal"))}


def _files_under(folder: Path):
    if not folder.is_dir():
        return []
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


# -- verify ---------------------------------------------------------------------------------

def verify_backup(backup_dir) -> VerifiedBackup:
    """Check a backup against its manifest: the database file and every stored file have the
    recorded sha256, and nothing else is there. Raises BackupError naming what is wrong."""
    path = Path(backup_dir).absolute()
    manifest = _read_manifest(path)
    problems = []
    database = manifest["database"]
    entries = {database["file"]: database}
    entries.update({f"{FILES}/{rel}": entry for rel, entry in manifest["files"].items()})
    for rel, entry in entries.items():
        _check_relative(rel)
        file = path / rel
        if not file.is_file():
            problems.append(f"{rel} is missing")
        elif _sha256(file) != entry["sha256"]:
            problems.append(f"{rel} does not match its sha256")
        elif rel.startswith(f"{FILES}/") and PurePosixPath(rel).parts[1] not in manifest["folders"]:
            problems.append(f"{rel} is in no folder the manifest lists")
    present = (str(PurePosixPath(*p.relative_to(path).parts)) for p in _files_under(path / FILES))
    problems += [f"{rel} is not in the manifest" for rel in sorted(present) if rel not in entries]
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise BackupError(f"The backup {path} is damaged or was changed: {shown}.")
    size = database["size"] + sum(entry["size"] for entry in manifest["files"].values())
    return VerifiedBackup(path, manifest, len(manifest["files"]), size)


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} is not a portal backup: it has no {MANIFEST}.") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"The manifest of {path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}/{MANIFEST} is not a manifest this portal reads (format {FORMAT}).")
    database = manifest.get("database")
    if (not isinstance(database, dict) or not {"engine", "file", "sha256", "size"} <= set(database)
            or not all(isinstance(manifest.get(key), kind) for key, kind in
                       (("tables", dict), ("folders", list), ("files", dict)))):
        raise BackupError(f"{path}/{MANIFEST} is incomplete.")
    for name in manifest["folders"]:
        if not isinstance(name, str) or len(PurePosixPath(name).parts) != 1 or name in (".", ".."):
            raise BackupError(f"The manifest names a folder that is not one: {name!r}.")
    return manifest


def _check_relative(rel):
    """A name from the manifest stays inside the backup (and later inside the instance)."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or "\\" in rel:
        raise BackupError(f"The manifest names a file outside the backup: {rel!r}.")


# -- restore --------------------------------------------------------------------------------

def restore_backup(backup_dir, *, app, force=False) -> RestoreResult:
    """Restore a verified backup into ``app``'s database and instance folder. Refuses when
    the database already holds data unless ``force``; the portal must be stopped."""
    started = time.monotonic()
    backup = verify_backup(backup_dir)
    url = _database_url(app)
    engine = url.get_backend_name()
    if engine != backup.engine:
        raise BackupError(f"The backup holds a {backup.engine} database; this portal uses {engine}.")
    if engine == "postgresql" and not shutil.which("pg_restore"):
        raise BackupError('pg_restore is not installed; restore with pg_restore --clean --no-owner '
                          '-d "$DATABASE_URL" database.dump (see README, Backups).')
    rows = _rows_present(app)
    if rows and not force:
        raise BackupError(f"The portal's database already holds data ({rows} rows): "
                          "restore with --force to replace it.")
    token = secrets.token_hex(4)
    staged_db = None
    staged = []  # (staged folder, final folder)
    try:
        if engine == "sqlite":
            live = _sqlite_path(url)
            live.parent.mkdir(parents=True, exist_ok=True)
            staged_db = live.with_name(f".{live.name}.restore-{token}")
            _restore_sqlite_copy(backup.path / backup.manifest["database"]["file"], staged_db)
            tables, _ = _sqlite_counts_at(staged_db)
            if tables != backup.tables:
                raise BackupError(f"The restored copy's row counts differ from the manifest: {_diff(tables, backup.tables)}")
        for name in backup.manifest["folders"]:
            final = _restore_folder(app, name)
            folder = final.with_name(f".{final.name}.restore-{token}")
            folder.mkdir(parents=True)
            staged.append((folder, final))
            for rel, entry in backup.manifest["files"].items():
                top, *rest = PurePosixPath(rel).parts
                if top == name:
                    copied = _copy_file(backup.path / FILES / rel, folder.joinpath(*rest))
                    if copied["sha256"] != entry["sha256"]:
                        raise BackupError(f"{rel} changed while it was restored.")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # no pooled connection may keep the old database open
            if engine == "sqlite":
                _retire_sqlite(live)
                os.replace(staged_db, live)
                staged_db = None
            else:
                _run([shutil.which("pg_restore"), "--clean", "--if-exists", "--no-owner",
                      "--single-transaction", "--exit-on-error", "-d", _libpq_dsn(db.engine.url),
                      str(backup.path / backup.manifest["database"]["file"])], db.engine.url)
        for folder, final in staged:
            _swap_folder(folder, final, token)
        staged = []
    except (OSError, sqlite3.Error, subprocess.SubprocessError) as exc:
        raise BackupError(f"Restore failed: {_reason(exc)}") from exc
    finally:
        if staged_db is not None:
            staged_db.unlink(missing_ok=True)
        for folder, _ in staged:
            shutil.rmtree(folder, ignore_errors=True)
    tables = _live_counts(app)
    if tables != backup.tables:
        raise BackupError(f"After the restore the row counts differ from the manifest: {_diff(tables, backup.tables)}")
    return RestoreResult(backup.path, engine, tables, backup.files, list(backup.manifest["folders"]),
                         time.monotonic() - started)


def _restore_sqlite_copy(source: Path, dest: Path):
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=PAGES_PER_STEP)
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(dest)


def _retire_sqlite(live: Path):
    """Before the restored file takes the live one's name: leave it without a -wal file (one
    left behind would be replayed into the restored database). Switching out of WAL fails
    while another connection is open, which tells us the portal is still running."""
    if not live.exists():
        for suffix in ("-wal", "-shm"):
            Path(f"{live}{suffix}").unlink(missing_ok=True)
        return
    conn = sqlite3.connect(live, isolation_level=None, timeout=1)
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{live} is in use ({exc}): stop the portal and its job worker, then restore.") from exc
    finally:
        conn.close()
    if mode != "delete":
        raise BackupError(f"{live} is in use: stop the portal and its job worker, then restore.")


def _restore_folder(app, name) -> Path:
    if name == UPLOADS:
        return Path(app.config["UPLOAD_FOLDER"]).absolute()
    return Path(app.instance_path).absolute() / name


def _swap_folder(staged: Path, final: Path, token):
    old = final.with_name(f".{final.name}.replaced-{token}")
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    shutil.rmtree(old, ignore_errors=True)


def _rows_present(app) -> int:
    tables = _live_counts(app)
    return sum(n for name, n in tables.items() if name != "alembic_version")


def _live_counts(app) -> dict:
    url = _database_url(app)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        return _sqlite_counts_at(path)[0] if path.exists() else {}
    with app.app_context():
        with db.engine.connect() as conn:
            return _pg_counts(conn)[0]


# -- small helpers --------------------------------------------------------------------------

def _database_url(app):
    with app.app_context():
        return db.engine.url


def _sqlite_path(url) -> Path:
    if url.database in (None, "", ":memory:"):
        raise BackupError("The portal's database is in memory: there is nothing to back up.")
    return Path(url.database).absolute()


def _sqlite_counts(conn):
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    tables = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = revision[0] if revision else None
    return tables, revision


def _sqlite_counts_at(path: Path):
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return _sqlite_counts(conn)
    finally:
        conn.close()


def _pg_counts(conn):
    names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                              "ORDER BY tablename")).scalars().all()
    tables = {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() for name in names}
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return tables, revision


def _libpq_dsn(url) -> str:
    """The URL as libpq reads it, without the password (passed in PGPASSWORD, not on argv)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(argv, url):
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[:500]}")


def _copy_file(source: Path, dest: Path) -> dict:
    """Copy, hash and fsync in one pass; returns the manifest entry."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open(dest, "xb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return {"sha256": digest.hexdigest(), "size": size}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_durably(path: Path, data: bytes):
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path):
    try:
        _fsync(path)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename is still atomic


def _reason(exc) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc)


def _diff(actual, expected) -> str:
    names = sorted(set(actual) | set(expected))
    return ", ".join(f"{n}: {actual.get(n)} instead of {expected.get(n)}"
                     for n in names if actual.get(n) != expected.get(n))
