"""A quarter's rollup over 1,000,000 answers against the bare SQL of its own grouped statements.

    .venv/bin/python bench/rollup.py [--answers 1000000] [--repeat 3] [--check]

On PostgreSQL: ``DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_rollup`` (a
scratch database whose name starts with "bench": its tables are dropped and the migrations run
afresh). By default a new SQLite file in a temporary folder, built by the migrations too.

The quarter 2026Q4 gets answers / 8 forms of 8 scored questions (about 5 % N/A) across 300
projects, 60 PMs, 40 sales owners, 200 clients (some key accounts), 6 departments, two survey
kinds, every channel, PM rounds with invitations for the online forms, 2 % rejected and 2 %
pending forms; 2026Q3 gets a tenth as many verified forms (so every group has its change). All
rows go in with bulk Core inserts. Then, in the same run, best of --repeat after a warm-up:

- rollup:   ``rollup("2026Q4")`` end to end (breakdowns, context figures, dataclasses);
- bare SQL: the service's own grouped statements (``whole_form`` per breakdown, ``by_dimension``,
            ``by_question``) compiled once (SQLite: with literal values; PostgreSQL: with their
            bound values, as it refuses a literal '' in GROUP BY) and run as plain text through the
            DB-API cursor, rows fetched, nothing else;
- single:   ``SELECT COUNT(normalized), SUM(normalized)`` over the quarter's verified answers.

Printed: rows, seconds of each, rollup/bare SQL (target <= 1.5) and rollup/single. Compare
ratios, not absolute numbers. With --check the exit status is 1 when rollup/bare SQL > 1.5.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ARGON2_PROFILE", "fast")

QUARTER, PREVIOUS = "2026Q4", "2026Q3"
QUESTIONS = 8
DIMENSIONS = ("attitude", "timeliness", "technical", "communication", "resolution", "overall",
              "attitude", "timeliness")
CHANNELS = ("online", "online", "online", "paper", "phone", "visit", "email", "on_behalf")
BATCH = 20_000
TARGET = 1.5


def build(db, n_forms, rng):
    """The master data and both quarters' forms, by bulk Core inserts; returns row counts."""
    from portal.models import (Answer, Client, Contact, Department, DepartmentMember, Invitation, Project,
                               Question, Questionnaire, Response, SurveyRound, Template, TemplateVersion, User)
    from portal.services.scales import ensure_shipped_scales
    scale_id = ensure_shipped_scales()["sat5_a"].id
    db.session.commit()
    now = datetime(2026, 12, 20)
    conn = db.session.connection()

    def insert(model, rows):
        for i in range(0, len(rows), BATCH):
            conn.execute(model.__table__.insert(), rows[i:i + BATCH])

    pms, sales = range(1, 61), range(61, 101)
    insert(User, [dict(id=i, username=f"u{i}", display_name=f"{'经理' if i <= 60 else '销售'}{i:03d}",
                       password_hash="x", session_token=f"t{i}", created_at=now) for i in range(1, 101)])
    insert(Client, [dict(id=i, name=f"客户{i:03d}", key_account=i % 10 == 0, created_at=now) for i in range(1, 201)])
    insert(Department, [dict(id=d, name=f"交付{d}部", head_id=d, active=True, created_at=now) for d in range(1, 7)])
    insert(DepartmentMember, [dict(department_id=1 + p % 6, user_id=p) for p in pms if p > 6])
    insert(Project, [dict(id=p, code=f"PRJ-{p:04d}", name=f"项目{p:04d} 数据中心运维", client_id=1 + p % 200,
                          pm_id=pms[p % 60], sales_id=sales[p % 40] if p % 7 else None, status="active",
                          start_date=date(2025, 1, 1), created_at=now) for p in range(1, 301)])
    versions = {}
    for n, kind in enumerate(("pm_quarterly", "sales_visit"), 1):
        insert(Questionnaire, [dict(id=n, kind=kind, created_at=now)])
        insert(Template, [dict(id=n, questionnaire_id=n, kind=kind, language="zh", name=f"{kind}-bench",
                               archived=False, created_at=now)])
        insert(TemplateVersion, [dict(id=n, template_id=n, number=1, title=kind, created_at=now, frozen_at=now)])
        versions[kind] = n
        insert(Question, [dict(id=(n - 1) * QUESTIONS + q + 1, version_id=n, position=q, code=f"q{q}",
                               text=f"问题{q}", type="scale", scale_id=scale_id, dimension=DIMENSIONS[q],
                               required=True, allow_na=q % 4 == 1) for q in range(QUESTIONS)])
    online_per_round = -(-n_forms * 3 // 8 * 9 // 10 // 300) + 2
    insert(Contact, [dict(id=c * 1000 + k, client_id=c, name=f"联系人{c}-{k}", function="site_admin",
                          language="zh", opted_out=False, created_at=now)
                     for c in range(1, 201) for k in range(1, online_per_round * 2 + 1)])
    round_of = {}
    for quarter, due in ((QUARTER, date(2026, 12, 15)), (PREVIOUS, date(2026, 9, 15))):
        first = len(round_of) + 1
        insert(SurveyRound, [dict(id=first + p - 1, project_id=p, quarter=quarter, template_version_id=1,
                                  due_date=due, created_by_id=pms[p % 60], created_at=now) for p in range(1, 301)])
        round_of.update({(quarter, p): first + p - 1 for p in range(1, 301)})

    counts = {"responses": 0, "answers": 0, "invitations": 0}
    response_id = invitation_id = answer_id = 0
    invited = {}
    for quarter, forms in ((QUARTER, n_forms), (PREVIOUS, n_forms // 10)):
        start = datetime(2026, 10, 1) if quarter == QUARTER else datetime(2026, 7, 1)
        responses, answers, invitations = [], [], []

        def flush():
            insert(Invitation, invitations)
            insert(Response, responses)
            insert(Answer, answers)
            for name, rows in (("responses", responses), ("answers", answers), ("invitations", invitations)):
                counts[name] += len(rows)
                rows.clear()

        for _ in range(forms):
            response_id += 1
            project = rng.randrange(1, 301)
            kind = "pm_quarterly" if rng.random() < 0.75 else "sales_visit"
            channel = rng.choice(CHANNELS) if kind == "pm_quarterly" else rng.choice(("visit", "email", "phone"))
            status = "authentic"
            if quarter == QUARTER:
                r = rng.random()
                status = "rejected" if r < 0.02 else "pending" if r < 0.04 else "authentic"
            base = rng.uniform(2.5, 5.0)
            values = []
            for q in range(QUESTIONS):
                answer_id += 1
                na = q % 4 == 1 and rng.random() < 0.2
                value = None if na else float(min(5, max(1, round(base + rng.uniform(-1.2, 1.2)))))
                values.append(value)
                answers.append(dict(id=answer_id, response_id=response_id,
                                    question_id=(versions[kind] - 1) * QUESTIONS + q + 1, raw_value=value,
                                    is_na=na, normalized=value))
            scored = [v for v in values if v is not None]
            rnd = invitation = None
            if kind == "pm_quarterly":
                rnd = round_of[(quarter, project)]
                if channel == "online":
                    k = invited[rnd] = invited.get(rnd, 0) + 1
                    invitation_id += 1
                    invitation = invitation_id
                    invitations.append(dict(id=invitation, round_id=rnd, contact_id=(1 + project % 200) * 1000 + k,
                                            token_hash=f"{invitation:064x}", language="zh",
                                            expires_at=start + timedelta(days=90), created_at=start,
                                            sent_count=1, reminded_count=0))
            responses.append(dict(
                id=response_id, template_version_id=versions[kind], project_id=project, round_id=rnd,
                invitation_id=invitation, quarter=quarter, channel=channel,
                submitted_at=start + timedelta(minutes=rng.randrange(0, 88 * 24 * 60)),
                score=sum(scored) / len(scored) if scored else None,
                comment="夜间故障响应偏慢，希望改进值守安排。" if rng.random() < 0.05 else None,
                verification_status=status, legal_hold=False))
            if len(answers) >= BATCH * 5:
                flush()
        flush()
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("users", "clients", "projects", "responses", "answers", "invitations", "contacts",
                      "survey_rounds", "questions", "template_versions", "templates", "questionnaires",
                      "departments"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
    db.session.commit()
    return counts


def reset_database(db, url):
    """An empty database with the migrations applied (SQLite: a new file already is empty)."""
    from flask_migrate import upgrade
    from sqlalchemy import MetaData
    if db.engine.dialect.name != "sqlite":
        if not db.engine.url.database.startswith("bench"):
            sys.exit(f"refusing to drop the tables of {db.engine.url.database!r}: use a database named bench…")
        existing = MetaData()
        existing.reflect(db.engine)
        existing.drop_all(db.engine)
    upgrade()


def plain_sql(statement, dialect):
    """(text, parameters) of ``statement`` for the DB-API cursor. Values are inlined where the
    database takes them so (SQLite); PostgreSQL refuses a literal '' in GROUP BY, so there the
    values stay bound parameters, exactly as the service sends them."""
    if dialect.name == "sqlite":
        return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})), ()
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        return str(compiled), tuple(params[name] for name in compiled.positiontup)
    return str(compiled), params


def best(fn, repeat):
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return min(runs), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when rollup/bare SQL > {TARGET}")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="rollup-bench-")
    os.environ["PORTAL_INSTANCE_PATH"] = folder
    from sqlalchemy import text

    from portal import create_app
    from portal.config import Config
    from portal.extensions import db
    from portal.services.rollup import rollup
    from portal.services.rollup.scores import WHOLE_FORM, by_dimension, by_question, whole_form
    from portal.services.rollup.service import selection_for
    from portal.services.rollup.period import parse_period

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench", UPLOAD_FOLDER=f"{folder}/uploads")
    with app.app_context():
        reset_database(db, url)
        dialect = db.engine.dialect
        started = time.perf_counter()
        counts = build(db, args.answers // QUESTIONS, random.Random(1))
        built = time.perf_counter() - started
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if dialect.name == "postgresql" else "ANALYZE"))
        print(f"{counts['answers']:,} answers, {counts['responses']:,} forms, {counts['invitations']:,} invitations "
              f"({QUARTER} and a tenth as many in {PREVIOUS}) on {dialect.name}, built in {built:.0f} s; "
              f"best of {args.repeat}")

        selection = selection_for(parse_period(QUARTER))
        statements = [whole_form(name, selection) for name in WHOLE_FORM]
        statements += [by_dimension(selection), by_question(selection)]
        sql = [plain_sql(s, dialect) for s in statements]
        single_sql = [("SELECT COUNT(a.normalized), SUM(a.normalized) FROM answers a "
                       "JOIN responses r ON r.id = a.response_id "
                       f"WHERE r.quarter = '{QUARTER}' AND r.verification_status = 'authentic'", ())]

        def run_rollup():
            result = rollup(QUARTER, now=datetime(2026, 12, 31, 12))
            db.session.rollback()
            return result

        def run_sql(statements):
            def run():
                raw = db.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    rows = 0
                    for statement, params in statements:
                        cursor.execute(statement, params)
                        rows += len(cursor.fetchall())
                    cursor.close()
                    raw.rollback()
                finally:
                    raw.close()
                return rows
            return run

        timings = {}
        timings["rollup"], report = best(run_rollup, args.repeat)
        timings["bare SQL"], group_rows = best(run_sql(sql), args.repeat)
        timings["single"], _ = best(run_sql(single_sql), args.repeat)
        assert report.overall.responses > 0 and group_rows > 0
        db.session.remove()
        db.engine.dispose()

    print(f"rollup    {timings['rollup']:7.2f} s  ({report.overall.responses:,} counted forms, "
          f"{len(report.by_project)} projects, {len(report.by_question)} questions)")
    print(f"bare SQL  {timings['bare SQL']:7.2f} s  ({len(sql)} grouped statements, {group_rows:,} rows)")
    print(f"single    {timings['single']:7.2f} s  (COUNT/SUM over the quarter's verified answers)")
    ratio = timings["rollup"] / timings["bare SQL"]
    print(f"ratio rollup/bare SQL: x{ratio:.2f} (target <= {TARGET}); "
          f"rollup/single: x{timings['rollup'] / timings['single']:.2f}")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
