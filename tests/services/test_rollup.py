"""The rollup equals a straightforward Python reference computed from the same random data
(issue 13: property test), on whichever database the suite runs on: N/A answers, rejected and
pending forms, forms entered on behalf, several dimensions per form, the previous quarter beside
this one. The reference reads the answers themselves, not the stored per-form score, and works
out the intervals with the textbook formulas (statistics.stdev, Agresti–Coull written out)."""
import statistics
from collections import defaultdict, namedtuple
from datetime import datetime
from math import sqrt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event

from portal.extensions import db
from portal.models import (Answer, CallbackDraw, CallbackTask, Department, DepartmentMember, Response,
                           ServiceCase)
from portal.services.rollup import freeze, rollup, thaw
from portal.services.rollup.figures import Rollup
from portal.services.rollup.stats import t975

from .. import factories

QUARTER, PREVIOUS = "2026Q4", "2026Q3"
Q = namedtuple("Q", "id code dimension version_id")
Form = namedtuple("Form", "project_id template_version_id quarter verification_status channel")
Z = 1.959963984540054
ENGINEERS = ("张工", "李工", "张工")
VALUES = (1.0, 2.0, 3.0, 4.0, 5.0, 1 + 4 / 9, 3 + 2 / 3, 4 + 1 / 3)


class World:
    """Three PMs (two in a department, one its head), two sales owners, three clients (one a key
    account), four projects, a PM questionnaire and a callback form with several dimensions,
    and a ticket case with its engineer for each callback form."""

    def __init__(self):
        pms = [factories.user(roles=("pm",)) for _ in range(3)]
        sales = [factories.user(roles=("sales",)) for _ in range(2)]
        clients = [factories.client(key_account=True), factories.client(), factories.client()]
        self.projects = projects = [factories.project(pm=pms[0], sales=sales[0], client_=clients[0]),
                         factories.project(pm=pms[1], sales=sales[1], client_=clients[1]),
                         factories.project(pm=pms[2], sales=None, client_=clients[2]),
                         factories.project(pm=pms[0], sales=sales[1], client_=clients[2])]
        department = Department(name="运维服务部", head_id=pms[2].id,
                                memberships=[DepartmentMember(user_id=pms[0].id)])
        db.session.add(department)
        self.pm_version = factories.template_version()
        self.callback_version = factories.template_version(kind="callback", questions=[
            dict(code="attitude", text="态度", type="scale", scale="sat5_a", dimension="attitude", allow_na=True),
            dict(code="solved", text="解决", type="scale", scale="sat5_a", dimension="technical", allow_na=True)])
        #: plain values: the session is emptied between examples
        self.versions = [self.pm_version.id, self.callback_version.id]
        self.callback_id = self.callback_version.id
        self.scored = {v.id: [Q(q.id, q.code, q.dimension, v.id) for q in v.questions if q.type == "scale"]
                       for v in (self.pm_version, self.callback_version)}
        self.draw = CallbackDraw(quarter=QUARTER, priority="P2", seed=1, rate=0.5, closed=3, required=2, added=2,
                                 reason="first")
        db.session.add(self.draw)
        db.session.flush()
        db.session.commit()
        self.draw_id = self.draw.id
        self.projects = [p.id for p in self.projects]
        self.pm_of = {p.id: p.pm_id for p in projects}
        self.sales_of = {p.id: p.sales_id for p in projects}
        self.client_of = {p.id: p.client_id for p in projects}
        self.key_client = clients[0].id
        self.department_pms = {pms[0].id, pms[2].id}

    def clear(self):
        db.session.rollback()
        db.session.execute(delete(CallbackTask))
        db.session.execute(delete(ServiceCase))
        db.session.execute(delete(Answer))
        db.session.execute(delete(Response))
        db.session.commit()
        db.session.expunge_all()

    def load(self, forms):
        """``forms``: (project, version, quarter, status, channel, [value or None per scored question])."""
        self.clear()
        stored = []
        for i, (p, v, quarter, status, channel, values) in enumerate(forms):
            version = self.versions[v]
            questions = self.scored[version]
            values = values[:len(questions)] + [None] * (len(questions) - len(values))
            present = [x for x in values if x is not None]
            response = Response(template_version_id=version, project_id=self.projects[p], quarter=quarter,
                                channel=channel, verification_status=status,
                                score=sum(present) / len(present) if present else None,
                                submitted_at=datetime(2026, 11 if quarter == QUARTER else 8, 1 + i % 27, 3, 0),
                                answers=[Answer(question_id=q.id, normalized=x, is_na=x is None,
                                                raw_value=None if x is None else x)
                                         for q, x in zip(questions, values)])
            db.session.add(response)
            db.session.flush()
            if version == self.callback_id:  # each callback form answers its own case's call
                case = ServiceCase(external_id=f"R-{i}", project_id=response.project_id, priority="P2",
                                   reporter="王", quarter=quarter, closed_at=datetime(2026, 11, 2),
                                   engineer=ENGINEERS[i % 3])
                db.session.add(case)
                db.session.flush()
                db.session.add(CallbackTask(kind="ticket", case_id=case.id, draw_id=self.draw_id,
                                            project_id=response.project_id, quarter=quarter, priority="P2",
                                            rank=f"{i:04d}", state="reached", response_id=response.id))
            stored.append((Form(response.project_id, response.template_version_id, quarter, status, channel),
                           [(q, x) for q, x in zip(questions, values)]))
        db.session.commit()
        return stored


# --- the reference ---------------------------------------------------------------------------

def reference_score(scores):
    """(n, mean, (low, high), rate, (low, high)) the textbook way from the list of s_r."""
    n = len(scores)
    if not n:
        return 0, None, (None, None), None, (None, None)
    mean = sum(scores) / n
    if n > 1:
        half = t975(n - 1) * statistics.stdev(scores) / sqrt(n)
        mean_ci = (max(1.0, mean - half), min(5.0, mean + half))
    else:
        mean_ci = (None, None)
    x = sum(1 for s in scores if s >= 4 - 1e-9)
    n_tilde = n + Z * Z
    p_tilde = (x + Z * Z / 2) / n_tilde
    w = Z * sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    return n, mean, mean_ci, x / n, (max(0.0, p_tilde - w), min(1.0, p_tilde + w))


def close(a, b, tolerance=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) < tolerance


def assert_matches(figures, scores, where):
    n, mean, (m_lo, m_hi), rate, (r_lo, r_hi) = reference_score(scores)
    assert figures.responses == n, where
    for got, want, what in ((figures.score, mean, "score"), (figures.score_low, m_lo, "score_low"),
                            (figures.score_high, m_hi, "score_high"), (figures.satisfaction_rate, rate, "rate"),
                            (figures.rate_low, r_lo, "rate_low"), (figures.rate_high, r_hi, "rate_high")):
        # interval ends come from Σ and Σ² in the database: equal within float rounding
        assert close(got, want, 1e-9 if what in ("score", "rate") else 1e-7), f"{where} {what}: {got} != {want}"
    assert close(figures.total, sum(scores)), where


def reference(world, stored, statuses=("authentic",)):
    """Per breakdown {key: [s_r]} from the answers of the counted forms of QUARTER."""
    groups = defaultdict(lambda: defaultdict(list))
    for response, answers in stored:
        if response.quarter != QUARTER or response.verification_status not in statuses:
            continue
        present = [x for _q, x in answers if x is not None]
        if present:
            s = sum(present) / len(present)
            pid = response.project_id
            groups["overall"][""].append(s)
            groups["by_project"][str(pid)].append(s)
            groups["by_pm"][str(world.pm_of[pid])].append(s)
            groups["by_sales"]["" if world.sales_of[pid] is None else str(world.sales_of[pid])].append(s)
            groups["by_client"][str(world.client_of[pid])].append(s)
            groups["by_channel"][response.channel].append(s)
            kind = "callback" if response.template_version_id == world.callback_id else "pm_quarterly"
            groups["by_kind"][kind].append(s)
            if world.client_of[pid] == world.key_client:
                groups["by_key_account"][str(world.key_client)].append(s)
            if world.pm_of[pid] in world.department_pms:
                groups["by_department"]["1"].append(s)
        dims = defaultdict(list)
        for q, x in answers:
            if x is not None:
                dims[q.dimension].append(x)
                groups["by_question"][f"{'callback' if q.version_id == world.callback_id else 'pm_quarterly'}"
                                      f":{q.code}"].append(x)
        for dim, xs in dims.items():
            groups["by_dimension"][dim].append(sum(xs) / len(xs))
    return groups


# --- the property ----------------------------------------------------------------------------

forms = st.lists(st.tuples(
    st.integers(0, 3), st.integers(0, 1), st.sampled_from((QUARTER, QUARTER, PREVIOUS)),
    st.sampled_from(("authentic", "authentic", "authentic", "pending", "rejected")),
    st.sampled_from(("online", "paper", "phone", "on_behalf")),
    st.lists(st.one_of(st.none(), st.sampled_from(VALUES)), min_size=0, max_size=3)), max_size=40)


def _check(world, data, include_pending):
    stored = world.load(data)
    result = rollup(QUARTER, include_pending=include_pending, now=datetime(2026, 12, 2))
    statuses = ("authentic", "pending") if include_pending else ("authentic",)
    want = reference(world, stored, statuses)
    assert_matches(result.overall, want["overall"][""], "overall")
    for name in ("by_project", "by_pm", "by_sales", "by_client", "by_channel", "by_kind", "by_key_account",
                 "by_dimension", "by_question"):
        got = {g.key: g for g in getattr(result, name)}
        assert set(got) == set(want[name]), name
        for key, scores in want[name].items():
            assert_matches(got[key].figures, scores, f"{name}[{key}]")
    engineers = defaultdict(list)
    for i, (response, answers) in enumerate(stored):
        present = [x for _q, x in answers if x is not None]
        if (response.quarter == QUARTER and response.verification_status in statuses and present
                and response.template_version_id == world.callback_id):
            engineers[ENGINEERS[i % 3]].append(sum(present) / len(present))
    assert {g.key: g.figures.responses for g in result.by_engineer} == {k: len(v) for k, v in engineers.items()}
    assert_matches(result.key_accounts, want["by_key_account"].get(str(world.key_client), []), "key accounts")
    assert {g.key for g in result.by_department} == ({"1"} if want["by_department"] else set())
    this = [r for r, _a in stored if r.quarter == QUARTER]
    assert result.excluded.rejected == sum(r.verification_status == "rejected" for r in this)
    assert result.excluded.pending == (0 if include_pending else sum(r.verification_status == "pending" for r in this))
    assert result.excluded.not_applicable == sum(
        1 for r, answers in stored if r.quarter == QUARTER and r.verification_status in statuses
        for _q, x in answers if x is None)
    # the change against the previous quarter's verified forms
    before = [sum(p) / len(p) for r, a in stored if r.quarter == PREVIOUS and r.verification_status == "authentic"
              for p in [[x for _q, x in a if x is not None]] if p]
    if before:
        assert close(result.change.previous_score, sum(before) / len(before))
        assert result.change.previous_responses == len(before)
    else:
        assert result.change is None
    assert thaw(Rollup, freeze(result)) == result


@pytest.mark.parametrize("include_pending", (False, True), ids=("verified", "with_pending"))
def test_rollup_equals_the_python_reference(db, include_pending):
    world = World()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(forms)
    def check(data):
        _check(world, data, include_pending)
    check()


def test_an_empty_quarter_has_no_score_and_says_so(db):
    result = rollup(QUARTER, now=datetime(2026, 12, 2))
    assert result.overall.responses == 0 and result.overall.score is None
    assert result.overall.confidence == "too_few"
    assert result.by_project == () and result.change is None


def test_one_rollup_issues_a_bounded_number_of_statements(db):
    """No N+1: many forms, projects and groups cost the same statements as a few."""
    world = World()

    def count(data):
        world.load(data)
        statements = []

        def note(*_a):
            statements.append(1)
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            rollup(QUARTER, now=datetime(2026, 12, 2))
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        return len(statements)
    few = count([(0, 0, QUARTER, "authentic", "online", [4.0, 5.0])])
    many = count([(i % 4, i % 2, (QUARTER, PREVIOUS)[i % 2], "authentic", "paper", [4.0, 3.0, 5.0])
                  for i in range(120)])
    assert many == few
    assert many <= 45, many
