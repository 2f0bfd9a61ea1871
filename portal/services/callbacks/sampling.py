"""Callback sampling (DESIGN §4.3.2): for each priority, the quarter's closed cases are called at
the priority's rate, drawn at random but reproducibly.

The order is seeded: a quarter has one seed (its first draw's, recorded on every CallbackDraw of
the quarter) and each case's place is its **rank** — ``0:`` for a key-account client's case, ``1:``
for any other, then HMAC-SHA256 keyed with the seed (its decimal digits) of the case's external
id, in hex. A case's rank depends on nothing but the seed, its own id and its client, so the
order never depends on the order of import, and cases imported later slot in among the others
without moving them. Anyone can recompute a draw from the seed and the ticket ids.

``draw`` is the one way tasks come into being: it fills each priority up to ⌈rate × closed⌉
active (open or reached) tasks with the best-ranked cases not drawn yet. Run first it draws the
sample; run again it tops up for cases imported since, and replaces tasks that failed
(unreachable, refused, wrong number), linking each failed task to its replacement. What was
drawn is never drawn again nor taken back.
"""
import hashlib
import heapq
import hmac
import math
import secrets
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, insert, select, text

from ...extensions import db
from ...models import CallbackDraw, CallbackTask, Client, Project, ServiceCase, User, UserRole
from ...models.base import utcnow
from ...models.case import PRIORITIES
from .. import DomainError
from ..audit import record_event
from ..quarters import parse_quarter
from ..settings import all_settings

RATE_KEYS = {p: f"callback.rate_{p.lower()}" for p in PRIORITIES}
#: CallbackDraw.seed is a 32-bit integer column on PostgreSQL
SEED_MAX = 2**31 - 1
#: the role whose members make the calls (and the only one that changes callback records)
DESK_ROLE = "quality"


@dataclass(frozen=True)
class PriorityDraw:
    """One priority of a quarter: its cases, what the rate requires, and its tasks by state."""
    priority: str
    rate: float
    closed: int       # closed cases of the quarter and priority
    required: int     # ⌈rate × closed⌉
    active: int       # tasks open or reached (what counts towards the requirement)
    reached: int      # tasks whose callback form is in
    failed: int       # tasks given up on (unreachable, refused, wrong number)
    added: int = 0    # tasks this draw added (0 for a status)

    @property
    def drawn(self) -> int:
        """Every case drawn so far, failed ones included."""
        return self.active + self.failed

    @property
    def open(self) -> int:
        return self.active - self.reached

    @property
    def missing(self) -> int:
        """Active tasks short of the requirement: only when no undrawn case is left to draw."""
        return max(self.required - self.active, 0)

    def as_dict(self) -> dict:
        return {**asdict(self), "drawn": self.drawn, "open": self.open, "missing": self.missing}


@dataclass(frozen=True)
class DrawResult:
    quarter: str
    seed: int | None            # None: nothing was ever drawn for the quarter
    priorities: list = field(default_factory=list)  # PriorityDraw, P1 → P4

    @property
    def added(self) -> int:
        return sum(p.added for p in self.priorities)


# --- the numbers -----------------------------------------------------------------------------

def rates() -> dict:
    """{"P1": 0.8, …}: each priority's callback rate from the settings (one query)."""
    stored = all_settings()
    return {p: stored[key] for p, key in RATE_KEYS.items()}


def required_for(rate, closed: int) -> int:
    """⌈rate × closed⌉, never more than ``closed``. Computed on the rate as written
    (``Fraction("0.2")``), not on its binary approximation: 0.2 × 15 is 3, not 4."""
    if closed <= 0:
        return 0
    exact = Fraction(str(rate)) * closed
    return min(closed, max(0, math.ceil(exact)))


def rank_of(seed: int, external_id: str, key_account: bool) -> str:
    """A case's place in its quarter's seeded order: key accounts first, then the keyed hash."""
    digest = hmac.new(str(seed).encode("ascii"), external_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{'0' if key_account else '1'}:{digest}"


def new_seed() -> int:
    return secrets.randbelow(SEED_MAX) + 1


def quarter_seed(quarter: str) -> int | None:
    """The seed of the quarter's first draw, which every later draw of the quarter reuses."""
    return db.session.scalar(select(CallbackDraw.seed).where(CallbackDraw.quarter == quarter)
                             .order_by(CallbackDraw.id).limit(1))


def check_quarter(quarter) -> str:
    try:
        parse_quarter(quarter)
    except ValueError:
        raise DomainError(_l("Write the quarter as 2026Q4."), field="quarter") from None
    return quarter


def may_draw(user) -> bool:
    """Drawing creates callback tasks: the quality desk only (DESIGN §4.3.5); ``None`` is the
    system (a CLI run without --user)."""
    return user is None or (user.is_active and user.has_role(DESK_ROLE))


# --- reading the quarter ---------------------------------------------------------------------

def _closed_counts(quarter) -> dict:
    rows = db.session.execute(select(ServiceCase.priority, func.count(ServiceCase.id))
                              .where(ServiceCase.quarter == quarter).group_by(ServiceCase.priority))
    return dict(rows.all())


def _task_counts(quarter) -> dict:
    """{(priority, state): n} of the quarter's ticket calls (relationship calls count for no rate)"""
    rows = db.session.execute(select(CallbackTask.priority, CallbackTask.state, func.count(CallbackTask.id))
                              .where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket")
                              .group_by(CallbackTask.priority, CallbackTask.state))
    return {(p, s): n for p, s, n in rows}


def _status_row(priority, rate, closed, tasks, added=0) -> PriorityDraw:
    reached, open_ = tasks.get((priority, "reached"), 0), tasks.get((priority, "open"), 0)
    return PriorityDraw(priority, rate, closed, required_for(rate, closed), open_ + reached, reached,
                        tasks.get((priority, "failed"), 0), added)


def quarter_status(quarter) -> list:
    """Per priority P1–P4: closed, required, active, reached, failed — two grouped queries."""
    check_quarter(quarter)
    current = rates()
    closed, tasks = _closed_counts(quarter), _task_counts(quarter)
    return [_status_row(p, current[p], closed.get(p, 0), tasks) for p in PRIORITIES]


# --- drawing ---------------------------------------------------------------------------------

def _serialize(quarter):
    """Until this transaction ends, other draws of the quarter wait (so two draws at once cannot
    pick two seeds or the same case). SQLite needs nothing: a writing transaction holds the
    write lock from its start (portal/database.py)."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"callbacks-draw:{quarter}".encode()).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": int.from_bytes(digest[:8], "big", signed=True)})


def _candidates(quarter, seed, priorities) -> dict:
    """{priority: [(rank, external_id, case_id, project_id)]} of the quarter's cases not drawn yet,
    best rank first."""
    rows = db.session.execute(
        select(ServiceCase.id, ServiceCase.external_id, ServiceCase.priority, Client.key_account,
               ServiceCase.project_id)
        .join(Project, ServiceCase.project_id == Project.id)
        .join(Client, Project.client_id == Client.id)
        .where(ServiceCase.quarter == quarter, ServiceCase.priority.in_(priorities),
               ~exists().where(CallbackTask.case_id == ServiceCase.id)))
    found = {p: [] for p in priorities}
    for case_id, external_id, priority, key_account, project_id in rows:
        found[priority].append((rank_of(seed, external_id, bool(key_account)), external_id, case_id, project_id))
    for ranked in found.values():
        ranked.sort()
    return found


class DeskAssigner:
    """Round-robin over the desk's active agents, whoever has the fewest open calls (of either
    kind) first; drawn ticket calls and scheduled relationship calls share it."""

    def __init__(self):
        ids = db.session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id)
                                 .where(UserRole.role == DESK_ROLE, User.active.is_(True))
                                 .order_by(User.id)).all()
        counts = dict(db.session.execute(
            select(CallbackTask.assigned_to_id, func.count(CallbackTask.id))
            .where(CallbackTask.state == "open", CallbackTask.assigned_to_id.in_(ids))
            .group_by(CallbackTask.assigned_to_id)).all()) if ids else {}
        self.heap = [(counts.get(i, 0), i) for i in ids]
        heapq.heapify(self.heap)

    def next(self) -> int | None:
        if not self.heap:
            return None  # nobody at the desk: the task waits unassigned
        count, user_id = heapq.heappop(self.heap)
        heapq.heappush(self.heap, (count + 1, user_id))
        return user_id


def draw(quarter, user, *, seed=None, now=None) -> DrawResult:
    """Fill each priority of ``quarter`` up to its required number of active tasks with the
    best-ranked undrawn cases: the first draw, a top-up and replacements alike. ``seed`` only
    counts for the quarter's first draw (a different one later is a DomainError); without one a
    random seed is chosen. One CallbackDraw per priority that got tasks, one audit event.
    PermissionError unless ``user`` is of the desk (None: the system). Flushes."""
    check_quarter(quarter)
    if not may_draw(user):
        raise PermissionError(f"{user!r} may not draw callbacks")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX):
        raise DomainError(_l("The seed is a whole number from 0 to %(max)d.", max=SEED_MAX), field="seed")
    _serialize(quarter)
    now = now or utcnow()
    recorded = quarter_seed(quarter)
    if recorded is not None and seed is not None and seed != recorded:
        raise DomainError(_l("%(quarter)s was drawn with seed %(seed)d; later draws of the quarter use "
                             "that seed.", quarter=quarter, seed=recorded), field="seed")
    used = recorded if recorded is not None else (seed if seed is not None else new_seed())

    current = rates()
    closed, tasks = _closed_counts(quarter), _task_counts(quarter)
    before = {p: _status_row(p, current[p], closed.get(p, 0), tasks) for p in PRIORITIES}
    needy = [p for p, row in before.items() if row.active < row.required]
    added = {p: 0 for p in PRIORITIES}
    draws = []
    if needy:
        candidates = _candidates(quarter, used, needy)
        unreplaced = {p: [] for p in needy}
        for failed in db.session.scalars(
                select(CallbackTask).where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket",
                                           CallbackTask.state == "failed",
                                           CallbackTask.priority.in_(needy),
                                           CallbackTask.replaced_by_id.is_(None))
                .order_by(CallbackTask.closed_at, CallbackTask.id)
                .execution_options(populate_existing=True)):  # their versions as committed
            unreplaced[failed.priority].append(failed)
        assigner = DeskAssigner()
        new_rows, replacing = [], []
        for p in needy:
            row = before[p]
            chosen = candidates[p][:row.required - row.active]
            if not chosen:
                continue
            reason = "first" if row.drawn == 0 else "replacement" if unreplaced[p] else "top_up"
            record = CallbackDraw(quarter=quarter, priority=p, seed=used, rate=row.rate, closed=row.closed,
                                  required=row.required, added=len(chosen), reason=reason,
                                  drawn_by_id=user.id if user is not None else None, drawn_at=now)
            db.session.add(record)
            db.session.flush()
            new_rows += [{"kind": "ticket", "case_id": case_id, "project_id": project_id, "draw_id": record.id,
                          "quarter": quarter, "priority": p, "rank": rank, "assigned_to_id": assigner.next(),
                          "state": "open", "attempts_count": 0, "version": 1, "created_at": now}
                         for rank, _external_id, case_id, project_id in chosen]
            replacing += zip(unreplaced[p], (case_id for _rank, _external_id, case_id, _project in chosen))
            added[p] = len(chosen)
            draws.append(record)
        if new_rows:
            # one executemany, whatever the number of cases (an ORM flush would insert them one by
            # one on SQLite, to read each new id back)
            db.session.execute(insert(CallbackTask), new_rows)
        if replacing:
            task_of_case = dict(db.session.execute(
                select(CallbackTask.case_id, CallbackTask.id)
                .where(CallbackTask.case_id.in_([case_id for _failed, case_id in replacing]))).all())
            for failed, case_id in replacing:
                failed.replaced_by_id = task_of_case[case_id]
            db.session.flush()

    rows = [PriorityDraw(p, r.rate, r.closed, r.required, r.active + added[p], r.reached, r.failed, added[p])
            for p, r in before.items()]
    result = DrawResult(quarter, used if draws or recorded is not None else None, rows)
    if draws:
        record_event("callbacks_drawn", actor=user, object_type="quarter", object_id=quarter,
                     detail={"quarter": quarter, "seed": used,
                             "priorities": [{**row.as_dict(), "reason": next(
                                 (d.reason for d in draws if d.priority == row.priority), None)}
                                 for row in rows]})
        db.session.flush()
    return result
