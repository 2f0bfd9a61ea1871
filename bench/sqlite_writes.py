"""Concurrent read-then-write throughput on SQLite: the portal's configuration against a baseline.

    .venv/bin/python bench/sqlite_writes.py [--threads 8] [--transactions 200] [--think-ms 0.5]

Every thread repeats one transaction: read a counter row, "think" a moment (the request's
work), write the counter + 1 and an audit-like row, commit. Both modes run in the same
process on a fresh database file each, one after the other, so only their ratio matters:

- portal:   the app's own engine (create_app): WAL, busy_timeout, BEGIN IMMEDIATE for
            transactions that write, so writers queue on the lock instead of failing.
- baseline: the same pragmas with plain deferred transactions (BEGIN); a transaction that
            hits "database is locked" is rolled back and retried with a short backoff.

Printed: committed transactions per second, lock errors (each one a retry), transactions
given up, and whether the counter equals the number of commits (no lost update).
"""
import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import (Column, Integer, MetaData, String, Table, create_engine, event, insert,
                        select, update)
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.config import Config  # noqa: E402

metadata = MetaData()
counters = Table("bench_counters", metadata, Column("id", Integer, primary_key=True),
                 Column("value", Integer, nullable=False))
events = Table("bench_events", metadata, Column("id", Integer, primary_key=True),
               Column("thread", Integer, nullable=False), Column("note", String(80)))

MAX_ATTEMPTS = 100


def baseline_engine(path, busy_timeout_ms, pool_size):
    engine = create_engine(f"sqlite:///{path}", pool_size=pool_size)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")  # deferred: the write lock is taken at the first write

    return engine


def run(engine, threads, transactions, think_s, retry):
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(counters).values(id=1, value=0))
    stats = {"committed": 0, "lock_errors": 0, "given_up": 0, "other_errors": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def worker(n):
        committed = lock_errors = given_up = other = 0
        rng = random.Random(n)
        with engine.connect() as conn:
            barrier.wait()
            for _ in range(transactions):
                for attempt in range(1, MAX_ATTEMPTS + 1):
                    try:
                        value = conn.execute(select(counters.c.value).where(counters.c.id == 1)).scalar_one()
                        if think_s:
                            time.sleep(think_s)
                        conn.execute(update(counters).where(counters.c.id == 1).values(value=value + 1))
                        conn.execute(insert(events).values(thread=n, note=f"{value + 1}"))
                        conn.commit()
                        committed += 1
                        break
                    except OperationalError as exc:
                        conn.rollback()
                        if "locked" not in str(exc) and "busy" not in str(exc):
                            other += 1
                            break
                        lock_errors += 1
                        if not retry or attempt == MAX_ATTEMPTS:
                            given_up += 1
                            break
                        time.sleep(rng.uniform(0, 0.001 * min(attempt, 10)))
        with lock:
            for key, val in (("committed", committed), ("lock_errors", lock_errors),
                             ("given_up", given_up), ("other_errors", other)):
                stats[key] += val

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    stats["seconds"] = time.perf_counter() - started
    with engine.connect() as conn:
        final = conn.execute(select(counters.c.value)).scalar_one()
        rows = conn.execute(select(events.c.id)).all()
        conn.rollback()
    stats["consistent"] = final == stats["committed"] == len(rows)
    stats["per_second"] = stats["committed"] / stats["seconds"] if stats["seconds"] else 0.0
    return stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=200, help="per thread")
    parser.add_argument("--think-ms", type=float, default=0.5, help="pause between read and write")
    args = parser.parse_args(argv)
    think_s = args.think_ms / 1000
    busy_ms = Config.SQLITE_BUSY_TIMEOUT_MS

    print(f"SQLite read-then-write: {args.threads} threads x {args.transactions} transactions, "
          f"think {args.think_ms} ms, busy_timeout {busy_ms} ms")
    results = {}
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/portal.sqlite3",
                         SECRET_KEY="bench", SQLALCHEMY_ENGINE_OPTIONS={"pool_size": args.threads})
        with app.app_context():
            from portal.extensions import db
            results["portal (BEGIN IMMEDIATE)"] = run(db.engine, args.threads, args.transactions,
                                                      think_s, retry=False)
            db.engine.dispose()
        engine = baseline_engine(f"{tmp}/baseline.sqlite3", busy_ms, args.threads)
        results["baseline (deferred + retry)"] = run(engine, args.threads, args.transactions,
                                                     think_s, retry=True)
        engine.dispose()

    print(f"{'mode':<30}{'committed':>10}{'lock errors':>13}{'given up':>10}"
          f"{'seconds':>9}{'commits/s':>11}  consistent")
    for name, s in results.items():
        print(f"{name:<30}{s['committed']:>10}{s['lock_errors']:>13}{s['given_up']:>10}"
              f"{s['seconds']:>9.2f}{s['per_second']:>11.0f}  {'yes' if s['consistent'] else 'NO'}")
    portal, base = results.values()
    ratio = portal["per_second"] / base["per_second"] if base["per_second"] else float("inf")
    print(f"ratio portal/baseline: commits/s x{ratio:.2f}; lock errors {portal['lock_errors']} vs "
          f"{base['lock_errors']}; given up {portal['given_up']} vs {base['given_up']}")
    ok = all(s["consistent"] and not s["other_errors"] for s in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
