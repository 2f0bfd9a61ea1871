"""Throttling guessers: failed sign-ins and failed survey-link lookups (issue 8).

Failures are counted from the audit trail (``login_failed`` and
``survey_link_invalid`` events), so every worker process and every machine on the
shared database sees the same counts; nothing is kept in process memory.

Sign-in (OWASP "device cookies"):

- per account: ``LOGIN_FAILURES_PER_ACCOUNT`` failures (any of its limits, e.g.
  10 per minute) lock the account *for browsers it has not seen* for the
  shortest window; every further failure doubles the lockout, up to
  ``LOGIN_LOCKOUT_MAX_MINUTES``; after that long without a failure the streak
  is forgiven;
- per address: ``LOGIN_FAILURES_PER_ADDRESS`` (much higher, e.g. 100 per 10
  minutes) refuses browsers it has not seen from that address, whatever the
  account;
- a browser that once signed in to the account holds a signed *device* cookie
  for it and is exempt from both; its own failures are counted on their own
  with the per-account rule, so a stolen device cookie buys no free guesses.

So a guesser hammering alice from the company's NAT address locks alice for
unknown browsers only: bob is never refused (until the address threshold) and
alice's own browser still gets in. A refusal is decided before the password is
checked, so it tells the guesser nothing.
"""
import hashlib
import secrets
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many
from sqlalchemy import or_, select, text

from ..extensions import db
from ..models import AuditEvent
from ..models.base import utcnow
from . import DomainError

LOGIN_FAILED = "login_failed"
SURVEY_LINK_INVALID = "survey_link_invalid"
#: how far back a sign-in streak is replayed, beyond the longest window
STREAK_HISTORY = timedelta(days=1)
#: enough rows for any streak the lockout lets happen; a bound on the work per attempt
MAX_ROWS = 1000
DEVICE_MARK = '"device":'  # how a known browser's failure shows in the event's JSON detail


@dataclass(frozen=True)
class Limit:
    amount: int
    window: timedelta


def parse_limits(spec):
    """``"10 per minute;50 per day"`` (Flask-Limiter's notation) as Limits."""
    return tuple(Limit(item.amount, timedelta(seconds=item.get_expiry())) for item in parse_many(spec))


@dataclass(frozen=True)
class Rules:
    per_account: tuple[Limit, ...]
    per_address: tuple[Limit, ...]
    max_lockout: timedelta
    survey_per_address: tuple[Limit, ...]

    @classmethod
    def from_config(cls, config):
        return cls(per_account=parse_limits(config["LOGIN_FAILURES_PER_ACCOUNT"]),
                   per_address=parse_limits(config["LOGIN_FAILURES_PER_ADDRESS"]),
                   max_lockout=timedelta(minutes=config["LOGIN_LOCKOUT_MAX_MINUTES"]),
                   survey_per_address=parse_limits(config["SURVEY_LINK_FAILURES_PER_ADDRESS"]))


def current_rules():
    return Rules.from_config(current_app.config)


@dataclass(frozen=True)
class Decision:
    """May the attempt go ahead? If not, why (``account``, ``device``, ``address``) and until when."""
    allowed: bool
    reason: str | None = None
    retry_at: datetime | None = None

    def wait_minutes(self, now=None):
        """Whole minutes to wait, at least one."""
        seconds = (self.retry_at - (now or utcnow())).total_seconds() if self.retry_at else 0
        return max(1, ceil(seconds / 60))


ALLOWED = Decision(True)


class TooManyFailures(DomainError):
    """Refused before checking: too many recent failures. ``decision`` says why and until when."""

    def __init__(self, decision):
        super().__init__(f"too many failed attempts ({decision.reason}) until {decision.retry_at}")
        self.decision = decision


# --- the rules, on plain timestamps --------------------------------------------------------

def _count_up_to(times, i, window):
    """Failures among ``times[:i + 1]`` (sorted) in the window that ends with the i-th."""
    return i + 1 - bisect_right(times, times[i] - window, 0, i + 1)


def lockout_until(failures, limits, max_lockout):
    """When the next attempt may be checked after these failures (None: no lockout ever started).

    Reaching any limit locks for the shortest window; each further failure doubles the
    lockout, capped at ``max_lockout``; a failure that comes ``max_lockout`` after the
    lockout ended starts afresh. The result may lie in the past (the lockout is over).
    """
    times = sorted(failures)
    base = min(limit.window for limit in limits)
    level, until = 0, None
    for i, t in enumerate(times):
        if until is not None and t >= until + max_lockout:
            level = 0
        if level:
            level += 1
        elif any(_count_up_to(times, i, limit.window) >= limit.amount for limit in limits):
            level = 1
        if level:
            until = t + min(base * 2 ** (level - 1), max_lockout)
    return until


def window_until(failures, limits, now):
    """While the failures in any sliding window reach its limit: when enough of them age out."""
    times = sorted(failures)
    retry = None
    for limit in limits:
        recent = times[bisect_right(times, now - limit.window):]
        if len(recent) >= limit.amount:
            frees_at = recent[-limit.amount] + limit.window
            retry = frees_at if retry is None else max(retry, frees_at)
    return retry


# --- counts from the audit trail -----------------------------------------------------------

def account_key(username, user=None):
    """What failures are counted under: the account's own name, else the tried name folded,
    so 'ALICE' and 'alice' count together and a missing account locks like a real one."""
    if user is not None:
        return user.username
    return (username or "").strip().lower()[:64]


def failure_detail(reason, device=None):
    """The JSON detail of a ``login_failed`` event; a known browser's failures carry its id."""
    return {"reason": reason, "device": device} if device else {"reason": reason}


def _failure_times(action, *conditions, since):
    """When the matching events happened after ``since``, oldest first. No upper bound: an
    attempt decided just before ours may carry a slightly later time."""
    rows = db.session.scalars(
        select(AuditEvent.at).where(AuditEvent.action == action, AuditEvent.at > since, *conditions)
        .order_by(AuditEvent.at.desc()).limit(MAX_ROWS)).all()
    return rows[::-1]


def _unknown_browser():
    return or_(AuditEvent.detail.is_(None), AuditEvent.detail.not_like(f"%{DEVICE_MARK}%"))


def _streak_since(rules, now):
    return now - max(limit.window for limit in rules.per_account) - STREAK_HISTORY


def serialize_sign_ins(username):
    """Until this transaction ends, other attempts at the same account wait, so that each is
    decided on the failures before it (without this, concurrent guesses on PostgreSQL would all
    pass the check while the first one is still hashing). SQLite needs nothing: a POST's
    transaction holds its write lock from the start (database.py)."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"sign-in:{username}".encode()).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": int.from_bytes(digest[:8], "big", signed=True)})


def check_sign_in(username, address=None, device=None, now=None, rules=None):
    """May this sign-in attempt have its password checked?

    ``username`` is the account key (see ``account_key``); ``device`` the id of a valid
    device cookie *for this account*, or None for a browser the account has not seen.
    """
    now, rules = now or utcnow(), rules or current_rules()
    if device:
        times = _failure_times(LOGIN_FAILED, AuditEvent.username == username,
                               AuditEvent.detail.like(f'%{DEVICE_MARK}%"{device}"%'),
                               since=_streak_since(rules, now))
        until = lockout_until(times, rules.per_account, rules.max_lockout)
        return Decision(False, "device", until) if until and until > now else ALLOWED
    times = _failure_times(LOGIN_FAILED, AuditEvent.username == username, _unknown_browser(),
                           since=_streak_since(rules, now))
    until = lockout_until(times, rules.per_account, rules.max_lockout)
    if until and until > now:
        return Decision(False, "account", until)
    if address:
        times = _failure_times(LOGIN_FAILED, AuditEvent.ip == address, _unknown_browser(),
                               since=now - max(limit.window for limit in rules.per_address))
        until = window_until(times, rules.per_address, now)
        if until:
            return Decision(False, "address", until)
    return ALLOWED


def check_survey_link(address, now=None, rules=None):
    """May this address look up a survey link? Only failed lookups are counted."""
    now, rules = now or utcnow(), rules or current_rules()
    if not address:
        return ALLOWED
    times = _failure_times(SURVEY_LINK_INVALID, AuditEvent.ip == address,
                           since=now - max(limit.window for limit in rules.survey_per_address))
    until = window_until(times, rules.survey_per_address, now)
    return Decision(False, "address", until) if until else ALLOWED


# --- device cookies ------------------------------------------------------------------------

DEVICE_SALT = "portal.login-device"
MAX_DEVICE_ACCOUNTS = 10


@dataclass(frozen=True)
class Device:
    """A browser that has signed in before: a random id and the accounts it signed in to."""
    id: str = field(default_factory=lambda: secrets.token_hex(12))
    accounts: tuple[int, ...] = ()

    def knows(self, user):
        return user is not None and user.id in self.accounts

    def remembering(self, user):
        """This browser, now also known to ``user`` (the most recent accounts are kept)."""
        others = tuple(a for a in self.accounts if a != user.id)
        return Device(self.id, (others + (user.id,))[-MAX_DEVICE_ACCOUNTS:])


def _serializer(secret_key):
    return URLSafeTimedSerializer(secret_key, salt=DEVICE_SALT)


def sign_device(device, secret_key):
    return _serializer(secret_key).dumps({"d": device.id, "a": list(device.accounts)})


def read_device(value, secret_key, max_age):
    """The Device a cookie value stands for, or None if missing, forged, malformed or older than
    ``max_age`` (a timedelta)."""
    if not value:
        return None
    try:
        data = _serializer(secret_key).loads(value, max_age=int(max_age.total_seconds()))
        device_id, accounts = data["d"], data["a"]
    except (BadSignature, KeyError, TypeError):
        return None
    if not (isinstance(device_id, str) and device_id.isalnum() and isinstance(accounts, list)
            and all(isinstance(a, int) for a in accounts)):
        return None
    return Device(device_id, tuple(accounts))
