"""Failed sign-ins and survey-link guesses are counted in the audit trail (services/throttle.py)."""
from datetime import timedelta

import pytest

from portal.models import AuditEvent
from portal.models.base import utcnow
from portal.services import throttle
from portal.services.accounts import authenticate
from portal.services.throttle import Device, Limit, lockout_until, parse_limits

T0 = utcnow().replace(microsecond=0)  # near today: the survey links are still open then
NAT = "203.0.113.7"
WRONG = "wrong-wrong-wrong"
MINUTE = timedelta(minutes=1)


def fail(username, at, address=NAT, device=None):
    assert authenticate(username, WRONG, address=address, device=device, now=at) is None


def fail_ten_times(username, start=T0, **kw):
    for i in range(10):
        fail(username, start + timedelta(seconds=i), **kw)
    return start + timedelta(seconds=9)


def check(username, at, address=NAT, device=None):
    return throttle.check_sign_in(username, address=address, device=device, now=at)


# --- per account ----------------------------------------------------------------------------

def test_ten_failures_in_a_minute_lock_the_account_for_a_minute(make):
    make.user("alice")
    last = fail_ten_times("alice")
    refused = check("alice", last + timedelta(seconds=1))
    assert (refused.allowed, refused.reason, refused.retry_at) == (False, "account", last + MINUTE)
    assert refused.wait_minutes(last + timedelta(seconds=1)) == 1
    assert check("alice", last + MINUTE).allowed  # the lockout ends by itself


def test_nine_failures_do_not_lock(make):
    make.user("alice")
    for i in range(9):
        fail("alice", T0 + timedelta(seconds=i))
    assert check("alice", T0 + timedelta(seconds=10)).allowed


def test_failures_outside_the_window_do_not_add_up(make):
    make.user("alice")
    for i in range(9):
        fail("alice", T0 + timedelta(seconds=i))
    fail("alice", T0 + timedelta(seconds=61))  # the first one has left the minute
    assert check("alice", T0 + timedelta(seconds=62)).allowed


def test_a_refused_attempt_is_audited_and_the_password_not_checked(make, db):
    make.user("alice")
    last = fail_ten_times("alice")
    with pytest.raises(throttle.TooManyFailures) as refused:
        authenticate("alice", "correct-horse-battery", address=NAT, now=last + timedelta(seconds=5))
    assert refused.value.decision.reason == "account"
    event = db.session.query(AuditEvent).filter_by(action="login_refused").one()
    assert (event.username, event.ip) == ("alice", NAT)
    assert db.session.query(AuditEvent).filter_by(action="login").count() == 0


def test_each_further_failure_doubles_the_lockout_up_to_the_cap():
    limits, cap = parse_limits("10 per minute"), timedelta(minutes=60)
    failures = [T0 + timedelta(seconds=i) for i in range(10)]
    waits = []
    for _ in range(8):  # the guesser tries again the moment each lockout ends
        until = lockout_until(failures, limits, cap)
        waits.append((until - failures[-1]) // MINUTE)
        failures.append(until)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_quiet_spell_as_long_as_the_cap_forgives_the_streak():
    limits, cap = parse_limits("10 per minute"), timedelta(minutes=60)
    failures = [T0 + timedelta(seconds=i) for i in range(10)]
    until = lockout_until(failures, limits, cap)
    assert lockout_until(failures + [until + cap - timedelta(seconds=1)], limits, cap) > until + cap
    later = until + cap + timedelta(seconds=1)
    assert lockout_until(failures + [later], limits, cap) == until  # one failure: no new lockout


def test_a_daily_limit_catches_slow_guessing():
    limits, cap = parse_limits("10 per minute;50 per day"), timedelta(minutes=60)
    slow = [T0 + i * timedelta(seconds=70) for i in range(50)]  # never 10 in a minute
    assert lockout_until(slow[:49], limits, cap) is None
    assert lockout_until(slow, limits, cap) == slow[-1] + MINUTE


def test_name_case_does_not_dodge_the_count(make):
    make.user("alice")
    for i, name in enumerate(["alice", "ALICE", " Alice", "aLiCe"] * 2 + ["alice", "Alice"]):
        fail(name, T0 + timedelta(seconds=i))
    assert check("alice", T0 + timedelta(seconds=11)).reason == "account"


def test_a_missing_account_locks_like_a_real_one(make):
    """Otherwise the 11th answer would tell a guesser which names exist."""
    fail_ten_times("nobody")
    assert check(throttle.account_key("Nobody"), T0 + timedelta(seconds=11)).reason == "account"


# --- other users and known browsers ---------------------------------------------------------

def test_correct_password_of_another_user_from_the_same_address_is_not_refused(make):
    make.user("alice")
    bob = make.user("bob")
    last = fail_ten_times("alice")
    assert authenticate("bob", "correct-horse-battery", address=NAT, now=last + timedelta(seconds=1)) == bob


def test_known_browser_is_exempt_from_the_account_lockout(make):
    alice = make.user("alice")
    last = fail_ten_times("alice")
    known = Device(accounts=(alice.id,))
    assert authenticate("alice", "correct-horse-battery", address=NAT, device=known,
                        now=last + timedelta(seconds=1)) == alice


def test_a_browser_known_to_another_account_is_not_exempt(make):
    make.user("alice")
    bob = make.user("bob")
    last = fail_ten_times("alice")
    with pytest.raises(throttle.TooManyFailures):
        authenticate("alice", "correct-horse-battery", address=NAT, device=Device(accounts=(bob.id,)),
                     now=last + timedelta(seconds=1))


def test_known_browser_failures_are_counted_on_their_own(make):
    """A stolen device cookie buys no free guesses, and does not lock the account for others."""
    alice = make.user("alice")
    known = Device(accounts=(alice.id,))
    last = fail_ten_times("alice", device=known)
    at = last + timedelta(seconds=1)
    assert check("alice", at, device=known.id).reason == "device"
    assert check("alice", at, device=Device().id).allowed  # another known browser of alice
    assert check("alice", at).allowed  # unknown browsers: no failures of theirs


# --- per address ----------------------------------------------------------------------------

@pytest.fixture
def address_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "20 per 10 minutes")


def test_many_failures_from_one_address_refuse_unknown_browsers(make, address_limit):
    bob = make.user("bob")
    for i in range(20):  # a spray over many names, each far below its own limit
        fail(f"name{i}", T0 + timedelta(seconds=i))
    at = T0 + timedelta(seconds=30)
    refused = check("bob", at)
    assert (refused.reason, refused.retry_at) == ("address", T0 + timedelta(minutes=10))
    assert check("bob", at, address="198.51.100.1").allowed  # another address
    assert check("bob", at, device=Device(accounts=(bob.id,)).id).allowed  # bob's own browser
    assert check("bob", T0 + timedelta(minutes=10)).allowed  # the first failure left the window


def test_address_limit_counts_only_its_window(make, address_limit):
    for i in range(19):
        fail(f"name{i}", T0 + timedelta(seconds=i))
    fail("name19", T0 + timedelta(minutes=10, seconds=1))
    assert check("bob", T0 + timedelta(minutes=10, seconds=2)).allowed


# --- survey links ---------------------------------------------------------------------------

def test_failed_link_lookups_refuse_the_address_even_for_a_good_link(make, db):
    from portal.services.survey import find_valid_invitation
    inv, token = make.invitation()
    for i in range(19):
        assert find_valid_invitation("G" * 43, now=T0 + timedelta(seconds=i), address=NAT) is None
    for i in range(5):  # good lookups are not counted
        assert find_valid_invitation(token, now=T0 + timedelta(seconds=20 + i), address=NAT).id == inv.id
    find_valid_invitation("bad", now=T0 + timedelta(seconds=30), address=NAT)
    with pytest.raises(throttle.TooManyFailures) as refused:
        find_valid_invitation(token, now=T0 + timedelta(seconds=31), address=NAT)
    assert refused.value.decision.retry_at == T0 + timedelta(minutes=10)
    assert find_valid_invitation(token, now=T0 + timedelta(seconds=31), address="198.51.100.1") is not None
    assert find_valid_invitation(token, now=T0 + timedelta(minutes=10), address=NAT) is not None
    assert db.session.query(AuditEvent).filter_by(action="survey_link_invalid", ip=NAT).count() == 20


def test_a_lookup_without_an_address_is_not_counted(make, db):
    from portal.services.survey import find_valid_invitation
    assert find_valid_invitation("G" * 43) is None
    assert db.session.query(AuditEvent).filter_by(action="survey_link_invalid").count() == 0


# --- settings and device cookies ------------------------------------------------------------

def test_limits_use_flask_limiter_notation():
    assert parse_limits("10 per minute;100 per 10 minutes") == (
        Limit(10, MINUTE), Limit(100, timedelta(minutes=10)))


def test_device_cookie_round_trip_and_forgery():
    device = Device(accounts=(3,)).remembering(type("U", (), {"id": 7})())
    value = throttle.sign_device(device, "secret")
    assert throttle.read_device(value, "secret", timedelta(days=1)) == device
    assert device.accounts == (3, 7)
    assert throttle.read_device(value, "other-secret", timedelta(days=1)) is None
    assert throttle.read_device(value[:-2] + "xx", "secret", timedelta(days=1)) is None
    assert throttle.read_device("", "secret", timedelta(days=1)) is None


def test_device_cookie_expires(monkeypatch):
    value = throttle.sign_device(Device(accounts=(1,)), "secret")
    import time
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 2 * 86400)
    assert throttle.read_device(value, "secret", timedelta(days=1)) is None


# --- concurrent guesses ---------------------------------------------------------------------

def test_simultaneous_guesses_are_decided_one_after_another(app, make, db):
    """Fifteen guesses released together: ten are checked, five refused (SQLite's write lock,
    PostgreSQL's advisory lock on the account), on whichever database the suite runs."""
    import threading

    from portal.extensions import db as _db
    make.user("alice")
    db.session.commit()
    start, outcomes = threading.Barrier(15), []

    def guess():
        start.wait()
        with app.app_context():
            try:
                authenticate("alice", WRONG, address=NAT)
                outcomes.append("checked")
            except throttle.TooManyFailures:
                outcomes.append("refused")
            finally:
                _db.session.commit()
                _db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["checked"] * 10 + ["refused"] * 5
