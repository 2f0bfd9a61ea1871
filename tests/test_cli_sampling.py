"""flask sample-callbacks: draws the quarter's sample, tops it up when run again, prints the figures
per priority (a table, or JSON), and refuses a bad quarter, seed or user with exit status 2."""
import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, CallbackDraw, CallbackTask, ServiceCase

QUARTER = "2026Q4"


@pytest.fixture
def cases(make, db):
    project = make.project(client_=make.client(key_account=True))

    def add(priority, n, prefix="T"):
        db.session.add_all(ServiceCase(external_id=f"{prefix}-{priority}-{i}", project_id=project.id,
                                       priority=priority, reporter="报障人",
                                       closed_at=datetime(2026, 11, 1 + i % 28), quarter=QUARTER)
                           for i in range(n))
        db.session.commit()
    add("P1", 10)
    add("P3", 15)
    return add


def run(runner, *args):
    return runner.invoke(args=["sample-callbacks", "--quarter", QUARTER, *args])


def test_it_draws_and_prints_a_table_per_priority(runner, cases, db):
    result = run(runner, "--seed", "42")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Callback sample 2026Q4 (seed 42): 11 calls added by this draw"
    header = lines[2].split()
    assert header == ["priority", "rate", "closed", "required", "drawn", "active", "reached", "failed", "added"]
    rows = {line.split()[0]: line.split() for line in lines[3:7]}
    assert rows["P1"] == ["P1", "80.0%", "10", "8", "8", "8", "0", "0", "8"]
    assert rows["P3"] == ["P3", "20.0%", "15", "3", "3", "3", "0", "0", "3"]  # 0.2 × 15 = 3, not 4
    assert rows["P2"][1:] == ["50.0%", "0", "0", "0", "0", "0", "0", "0"]
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 11
    assert set(db.session.scalars(select(CallbackDraw.seed))) == {42}


def test_json_lists_each_priority_and_a_second_run_tops_up_only(runner, cases, db):
    first = json.loads(run(runner, "--json", "--seed", "7").output)
    assert [row["priority"] for row in first] == ["P1", "P2", "P3", "P4"]
    p1 = first[0]
    assert {k: p1[k] for k in ("priority", "closed", "required", "drawn", "reached", "seed", "added")} == \
        {"priority": "P1", "closed": 10, "required": 8, "drawn": 8, "reached": 0, "seed": 7, "added": 8}
    drawn = set(db.session.scalars(select(CallbackTask.case_id)))

    again = run(runner, "--json")  # safe to run again: nothing new to draw
    assert again.exit_code == 0 and all(row["added"] == 0 for row in json.loads(again.output))
    cases("P1", 5, prefix="L")  # imported later: 15 closed, 12 required
    topped = json.loads(run(runner, "--json").output)
    assert (topped[0]["closed"], topped[0]["required"], topped[0]["drawn"], topped[0]["added"]) == (15, 12, 12, 4)
    assert topped[0]["seed"] == 7
    assert drawn <= set(db.session.scalars(select(CallbackTask.case_id)))
    reasons = db.session.scalars(select(CallbackDraw.reason).order_by(CallbackDraw.id)).all()
    assert reasons == ["first", "first", "top_up"]


def test_a_user_is_recorded_as_the_drawer(runner, cases, make, db):
    agent = make.user("desk1", roles=("quality",))
    assert run(runner, "--user", "desk1").exit_code == 0
    assert set(db.session.scalars(select(CallbackDraw.drawn_by_id))) == {agent.id}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callbacks_drawn"))
    assert event.user_id == agent.id
    assert set(db.session.scalars(select(CallbackTask.assigned_to_id))) == {agent.id}


@pytest.mark.parametrize("args, says", [
    (["--quarter", "2026Q5"], "2026Q4"), (["--quarter", "Q4"], "2026Q4"),
    (["--quarter", QUARTER, "--seed", "-1"], "--seed"),
    (["--quarter", QUARTER, "--user", "nobody"], "nobody"),
])
def test_bad_input_exits_with_2_and_draws_nothing(runner, cases, db, args, says):
    result = runner.invoke(args=["sample-callbacks", *args])
    assert result.exit_code == 2 and says in result.output
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 0


def test_a_user_outside_the_quality_desk_is_refused(runner, cases, make, db):
    make.user("pm9", roles=("pm",))
    result = run(runner, "--user", "pm9")
    assert result.exit_code == 2 and "quality" in result.output
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 0


def test_another_seed_on_a_later_run_is_refused(runner, cases, db):
    assert run(runner, "--seed", "1").exit_code == 0
    result = run(runner, "--seed", "2")
    assert result.exit_code == 2 and "1" in result.output
    assert set(db.session.scalars(select(CallbackDraw.seed))) == {1}
