"""The complaints' monthly report (DESIGN §4.7.3): the share handled within each limit, counted in
working time (weekends, the National Day holiday and its make-up Saturday), the complex limit
after the notice, pending clocks left out of the share, per department, by channel and state,
the month taken in local time, what a user may see, and the six months' trend."""
import pytest

from portal.extensions import db as _db
from portal.services import DomainError
from portal.services import complaints as svc
from portal.services.complaints.report import last_month, parse_month

from ..querycount import count_statements
from .test_complaints import build_world, local, register, step

NOW = local(2026, 11, 3, 12)  # Tuesday: the October report read in early November


@pytest.fixture
def world(make, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.cn")  # the check's link
    return build_world(make, db)


def _handle(world, c, at, department="department", owner="owner"):
    """Assign, investigate, propose and approve a remedy, all at ``at``."""
    step(c, "assign", world["quality"], now=at, department=world[department], owner=world[owner])
    step(c, "investigate", world[owner], now=at, findings="排班冲突", company_fault=True)
    step(c, "propose_remedy", world[owner], now=at, kind="apology", text="书面致歉")
    step(c, "approve", world["exec"], now=at)


def _notify(world, c, at, owner="owner"):
    step(c, "notify_client", world[owner], now=at, how="phone", said="结果、原因与申诉途径")


def build_october(world):
    """Nine October complaints (and one each side of the month), each named by what it shows."""
    w, q = world, world["quality"]
    cs = {}
    # A: contacted in 2 h, told the outcome in 18 h, closed
    a = cs["A"] = register(w, now=local(2026, 10, 12, 9))
    step(a, "accept", q, now=local(2026, 10, 12, 10))
    step(a, "record_contact", q, now=local(2026, 10, 12, 11), how="phone")
    _handle(w, a, local(2026, 10, 13, 9))
    _notify(w, a, local(2026, 10, 14, 9))
    step(a, "close", q, now=local(2026, 10, 14, 10))
    # B: Friday 16:00, contacted Monday 17:00: 10 working hours over the weekend (73 on the wall
    # clock); never told the outcome: 48 h passed long ago
    b = cs["B"] = register(w, now=local(2026, 10, 16, 16), channel="email")
    step(b, "accept", q, now=local(2026, 10, 16, 17))
    step(b, "record_contact", q, now=local(2026, 10, 19, 17), how="email")
    step(b, "assign", q, now=local(2026, 10, 19, 17), department=w["department"], owner=w["owner"])
    # C: 1 October 07:30 in Shanghai (still 30 September in UTC) in the National Day holiday: the
    # clock starts on 8 October; contacted on the 9th at 12:00 (12 h), told on the 13th at 10:00
    # (37 h: the make-up Saturday 10 October counts, Sunday the 11th does not)
    c = cs["C"] = register(w, now=local(2026, 10, 1, 7, 30))
    step(c, "accept", q, now=local(2026, 10, 8, 9))
    step(c, "record_contact", q, now=local(2026, 10, 9, 12), how="phone")
    _handle(w, c, local(2026, 10, 12, 9))
    _notify(w, c, local(2026, 10, 13, 10))
    # D: contacted at exactly 24 h (within), told at 49 h (late)
    d = cs["D"] = register(w, now=local(2026, 10, 20, 9))
    step(d, "accept", q, now=local(2026, 10, 20, 9))
    step(d, "record_contact", q, now=local(2026, 10, 22, 15), how="phone")
    _handle(w, d, local(2026, 10, 23, 9), department="other", owner="outsider")
    _notify(w, d, local(2026, 10, 27, 13), owner="outsider")
    # E: contacted at 25 h (late); still open at 54+ h (late)
    e = cs["E"] = register(w, now=local(2026, 10, 26, 9), channel="letter")
    step(e, "accept", q, now=local(2026, 10, 26, 9))
    step(e, "assign", q, now=local(2026, 10, 26, 10), department=w["other"], owner=w["outsider"])
    step(e, "record_contact", w["outsider"], now=local(2026, 10, 28, 16), how="phone")
    # F: judged invalid after an hour: the explanation is the contact and the end of the case
    f = cs["F"] = register(w, now=local(2026, 10, 27, 10))
    step(f, "judge_invalid", q, now=local(2026, 10, 27, 11), reason="与本公司服务无关")
    # G: major and complex: the notice after 18 h, so 120 h apply; told at 63 h (within)
    g = cs["G"] = register(w, now=local(2026, 10, 12, 10), channel="social", major=True)
    step(g, "accept", q, now=local(2026, 10, 12, 10))
    step(g, "record_contact", q, now=local(2026, 10, 12, 12), how="phone")
    step(g, "mark_complex", q, now=local(2026, 10, 14, 10), how="phone", note="已告知需要更多时间")
    _handle(w, g, local(2026, 10, 20, 9), department="other", owner="outsider")
    _notify(w, g, local(2026, 10, 21, 10), owner="outsider")
    # H: Saturday 31 October 23:30 (15:30 UTC): still October; at NOW both clocks run short of
    # their limits (12 h used): pending
    cs["H"] = register(w, now=local(2026, 10, 31, 23, 30), channel="chat")
    # R: told and closed the same day, reopened the next morning: the clock runs again, now late
    r = cs["R"] = register(w, now=local(2026, 10, 19, 9))
    step(r, "accept", q, now=local(2026, 10, 19, 9))
    step(r, "record_contact", q, now=local(2026, 10, 19, 10), how="phone")
    _handle(w, r, local(2026, 10, 19, 11))
    _notify(w, r, local(2026, 10, 19, 15))
    step(r, "close", q, now=local(2026, 10, 19, 16))
    step(r, "reopen", q, now=local(2026, 10, 20, 9), reason="客户反映问题复发")
    # either side of October in local time
    cs["september"] = register(w, now=local(2026, 9, 30, 23, 30))
    cs["november"] = register(w, now=local(2026, 11, 1, 0, 30))
    _db.session.commit()
    return cs


def _shares(share):
    return share.within, share.late, share.pending, share.percent


def test_the_october_report_counts_the_share_within_each_limit(world, db):
    build_october(world)
    report = svc.monthly_report(2026, 10, now=NOW)
    assert (report.month, report.first_day.isoformat(), report.last_day.isoformat()) == (
        "2026-10", "2026-10-01", "2026-10-31")
    assert report.complaints == 9
    assert report.limits == (24, 48, 120)
    assert _shares(report.first_contact) == (7, 1, 1, 87.5)   # E late, H pending
    assert _shares(report.resolution) == (4, 4, 1, 50.0)      # B, D, E, R late; H pending
    assert report.first_contact.share == pytest.approx(7 / 8)


def test_the_counts_by_state_channel_and_kind(world, db):
    build_october(world)
    report = svc.monthly_report(2026, 10, now=NOW)
    assert dict(report.by_state) == {"registered": 1, "handling": 3, "done": 4, "invalid": 1}
    assert [g for g, _ in report.by_state] == ["registered", "handling", "done", "invalid"]
    channels = dict(report.by_channel)
    assert {k: v for k, v in channels.items() if v} == {"phone": 5, "email": 1, "letter": 1, "social": 1,
                                                         "chat": 1}
    assert channels["web_form"] == 0  # every channel is listed
    assert (report.major, report.complex, report.complex_limit, report.reopened) == (1, 1, 1, 1)


def test_the_shares_per_department(world, db):
    build_october(world)
    report = svc.monthly_report(2026, 10, now=NOW)
    rows = {d.department_id: d for d in report.departments}
    after_sales, implementation = rows[world["department"].id], rows[world["other"].id]
    assert (after_sales.name, after_sales.complaints) == ("售后服务部", 4)          # A, B, C, R
    assert _shares(after_sales.first_contact) == (4, 0, 0, 100.0)
    assert _shares(after_sales.resolution) == (2, 2, 0, 50.0)
    assert (implementation.name, implementation.complaints) == ("实施部", 3)        # D, E, G
    assert _shares(implementation.first_contact) == (2, 1, 0, 66.7)
    assert _shares(implementation.resolution) == (1, 2, 0, 33.3)
    unassigned = report.departments[-1]                                            # F, H: last
    assert (unassigned.department_id, unassigned.name, unassigned.complaints) == (None, None, 2)
    assert _shares(unassigned.first_contact) == (1, 0, 1, 100.0)
    assert _shares(unassigned.resolution) == (1, 0, 1, 100.0)


def test_the_complex_limit_makes_63_hours_within(world, db):
    cs = build_october(world)
    clocks = svc.clocks(cs["G"], NOW)
    assert (clocks.complex_applies, clocks.resolution.elapsed_hours, clocks.resolution.state) == (True, 63, "met")
    report = svc.monthly_report(2026, 10, now=NOW, user=world["outsider"])  # D, E, G only
    assert report.complaints == 3 and _shares(report.resolution) == (1, 2, 0, 33.3)


def test_the_month_is_taken_in_local_time(world, db):
    build_october(world)
    september = svc.monthly_report(2026, 9, now=NOW)
    november = svc.monthly_report(2026, 11, now=NOW)
    assert september.complaints == 1 and november.complaints == 1
    # the September one started in the holiday's eve; its first contact never came
    assert _shares(september.first_contact) == (0, 1, 0, 0.0)
    # the November one (1 November 00:30, a Sunday) runs: nothing counted yet
    assert _shares(november.first_contact) == (0, 0, 1, None) and november.first_contact.share is None


def test_the_trend_runs_six_months_to_the_report_month(world, db):
    build_october(world)
    trend = svc.monthly_report(2026, 10, now=NOW).trend
    assert [t.month for t in trend] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert [t.complaints for t in trend] == [0, 0, 0, 0, 1, 9]
    assert [t.first_contact.percent for t in trend] == [None, None, None, None, 0.0, 87.5]
    assert [t.resolution.percent for t in trend] == [None, None, None, None, 0.0, 50.0]


def test_the_trend_crosses_the_year(world, db):
    assert [t.month for t in svc.monthly_report(2027, 2, now=NOW).trend] == [
        "2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]


def test_the_report_is_as_things_stood_at_now(world, db):
    build_october(world)
    report = svc.monthly_report(2026, 10, now=local(2026, 10, 12, 10, 30))
    assert report.complaints == 3                               # C, A, G registered by then
    assert _shares(report.first_contact) == (1, 0, 2, 100.0)    # C contacted; A and G not yet
    assert _shares(report.resolution) == (0, 0, 3, None)
    assert dict(report.by_state) == {"registered": 0, "handling": 3, "done": 0, "invalid": 0}  # accepted
    assert report.complex == 0                                  # G's notice came on the 14th


def test_a_user_sees_only_the_complaints_in_their_scope(world, db):
    build_october(world)
    report = svc.monthly_report(2026, 10, now=NOW, user=world["owner"])  # the after-sales member
    assert report.complaints == 4
    assert [d.department_id for d in report.departments] == [world["department"].id]
    assert _shares(report.first_contact) == (4, 0, 0, 100.0)
    assert _shares(report.resolution) == (2, 2, 0, 50.0)
    assert svc.monthly_report(2026, 10, now=NOW, user=world["quality"]).complaints == 9


def test_the_limits_come_from_the_settings(world, db, make):
    from portal.services.settings import set_setting
    build_october(world)
    set_setting("complaints.first_contact_hours", 25, actor=make.user("rep_admin", roles=("admin",)))
    report = svc.monthly_report(2026, 10, now=NOW)
    assert report.limits[0] == 25 and _shares(report.first_contact) == (8, 0, 1, 100.0)  # E's 25 h: in


def test_the_report_reads_a_fixed_number_of_statements(world, db):
    build_october(world)

    def statements():
        _db.session.expire_all()  # nothing already loaded helps
        with count_statements(_db.engine) as counted:
            report = svc.monthly_report(2026, 10, now=NOW, user=world["outsider"])
        return report, counted

    few_report, few = statements()
    for n in range(5):
        c = register(world, now=local(2026, 10, 5 + n, 10), channel="phone")
        step(c, "accept", world["quality"], now=local(2026, 10, 5 + n, 11))
        step(c, "assign", world["quality"], now=local(2026, 10, 5 + n, 11), department=world["other"],
             owner=world["outsider"])
    _db.session.commit()
    more_report, more = statements()
    assert (few_report.complaints, more_report.complaints) == (3, 8)
    assert len(more) == len(few) <= 12, more.report()  # 6 settings, the user, 3 loads


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "1999-12", "2026-1", "26-11", "2026/11", "", None,
                                  "2026-11-01", "abcd-ef", "２０２６-１１"])
def test_a_bad_month_is_a_domain_error(text):
    with pytest.raises(DomainError) as error:
        parse_month(text)
    assert error.value.field == "month"


def test_months_parse_and_last_month_is_local(app):
    assert parse_month("2026-11") == (2026, 11) and parse_month(" 2027-01 ") == (2027, 1)
    with app.app_context():
        assert last_month(local(2026, 12, 2, 12)) == (2026, 11)
        assert last_month(local(2027, 1, 1, 7, 30)) == (2026, 12)   # still 31 December in UTC
        assert last_month(local(2026, 12, 1, 7)) == (2026, 11)


def test_a_bad_month_number_is_refused_by_the_report(db):
    with pytest.raises(DomainError):
        svc.monthly_report(2026, 13)
