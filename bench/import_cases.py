"""Importing 100,000 closed tickets against a bare ``executemany`` insert of the same rows.

    .venv/bin/python bench/import_cases.py [--rows 100000] [--repeat 3] [--quote-all]

On PostgreSQL: ``DATABASE_URL=postgresql+psycopg://user@host:5432/db`` (its tables are dropped and
created afresh). By default a new SQLite file in a temporary folder. Both modes run in the same
process against the same table, one after the other, the table emptied before each run:

- import:   ``import_cases`` on a generated CSV (UTF-8 with BOM, Chinese headers, mixed priority
            spellings, quoted only where needed as Excel writes it, or every field quoted with
            ``--quote-all``, which takes the csv module's slower path): decoding, delimiter
            sniffing, the guessed mapping, every row checked, the project codes and existing
            cases looked up, the bulk insert, the audit event, commit;
- baseline: the same rows, already parsed, inserted with one DBAPI ``executemany`` and committed.

Printed: rows/s of each (median of the repeats), the import/baseline ratio (target >= 0.5) and,
for information, a re-import of the same file (every row unchanged). Compare ratios, not
absolute numbers: they depend on the machine and its load.
"""
import argparse
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ARGON2_PROFILE", "fast")

HEADERS = ("工单号", "项目编号", "优先级", "申告人", "联系电话", "创建时间", "关闭时间", "问题描述", "处理工程师")
PRIORITIES = ("P1", "1 - Critical", "紧急", "高", "2", "P3", "中", "Normal", "低", "p4")
PROBLEMS = ("核心交换机端口故障导致业务中断", "存储阵列告警，硬盘需要更换", "视频会议终端无法入会",
            "防火墙策略变更申请", "机房空调温度告警", "虚拟机性能下降，需扩容", "备份任务失败")
NAMES = ("王建国", "李晓红", "张志强", "刘海燕", "陈立新", "杨光", "赵丽华", "黄志明")
ENGINEERS = ("工程师 周", "工程师 吴", "工程师 郑", "工程师 孙")


def ticket_csv(rows, codes, seed=1, quote_all=False) -> bytes:
    """The export as Excel writes it (quoting only what needs it), or with every field quoted."""
    rng = random.Random(seed)
    start = datetime(2026, 7, 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(HEADERS)
    for n in range(rows):
        opened = start + timedelta(minutes=rng.randrange(0, 88 * 24 * 60))
        closed = opened + timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
        writer.writerow((
            f"INC{2026_000000 + n}", codes[n % len(codes)], PRIORITIES[n % len(PRIORITIES)],
            NAMES[n % len(NAMES)], f"139{rng.randrange(10**8):08d}", opened.strftime("%Y-%m-%d %H:%M"),
            closed.strftime("%Y-%m-%d %H:%M:%S"), PROBLEMS[n % len(PROBLEMS)], ENGINEERS[n % len(ENGINEERS)]))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quote-all", action="store_true",
                        help="quote every field, as some ticket systems export (the slower csv path)")
    args = parser.parse_args(argv)

    from sqlalchemy import delete, text

    from portal import create_app
    from portal.config import Config
    from portal.extensions import db
    from portal.models import CaseImport, ServiceCase
    from portal.models.base import utcnow
    from portal.services.cases.importer import COMPARED, import_cases
    from portal.services.cases.mapping import guess_mapping
    from portal.services.cases.reading import read_table
    from portal.services.cases.rows import parse_rows
    from tests import factories

    folder = tempfile.mkdtemp(prefix="import-bench-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench", UPLOAD_FOLDER=f"{folder}/uploads")
    with app.app_context():
        db.drop_all()
        db.create_all()
        codes = [factories.project(code=f"PRJ-2025-{i:03d}").code for i in range(1, 21)]
        data = ticket_csv(args.rows, codes, quote_all=args.quote_all)
        dialect = db.engine.dialect.name
        quoted = ", every field quoted" if args.quote_all else ""
        print(f"{args.rows:,} tickets ({len(data) / 1048576:.1f} MB CSV{quoted}) on {dialect}, "
              f"median of {args.repeat}")

        table = read_table(data, "bench.csv")
        mapping = guess_mapping(table.headers)
        parsed = parse_rows(table, mapping)
        assert parsed.ok, parsed.errors[:5]
        columns = ("external_id", *COMPARED, "import_id", "created_at")
        marker = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO service_cases ({', '.join(columns)}) "
               f"VALUES ({', '.join([marker] * len(columns))})")

        def empty():
            db.session.execute(delete(ServiceCase))
            db.session.commit()
            if dialect == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE service_cases"))

        timings = {"import": [], "baseline": [], "re-import": []}
        for _ in range(args.repeat):
            empty()
            started = time.perf_counter()
            record = import_cases(data, "bench.csv", None, mapping)
            db.session.commit()
            timings["import"].append(time.perf_counter() - started)
            assert record.state == "imported" and record.rows_added == args.rows, record.errors
            import_id = record.id

            started = time.perf_counter()
            again = import_cases(data, "bench.csv", None, mapping)
            db.session.commit()
            timings["re-import"].append(time.perf_counter() - started)
            assert again.rows_unchanged == args.rows

            empty()
            now = utcnow()
            values = [tuple(case[c] for c in columns[:-2]) + (import_id, now) for case in parsed.cases]
            started = time.perf_counter()
            with db.engine.begin() as conn:
                conn.exec_driver_sql(sql, values)
            timings["baseline"].append(time.perf_counter() - started)
        count = db.session.query(ServiceCase).count()
        assert count == args.rows, count
        db.session.query(CaseImport).count()
        db.session.remove()
        db.engine.dispose()

    rates = {name: args.rows / statistics.median(runs) for name, runs in timings.items()}
    for name, runs in timings.items():
        print(f"{name:10s} {statistics.median(runs):7.2f} s  {rates[name]:9,.0f} rows/s")
    print(f"ratio import/baseline: x{rates['import'] / rates['baseline']:.2f} (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
