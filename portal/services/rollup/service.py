"""One rollup for any period (DESIGN §4.5, §5): ``rollup(period)`` runs the breakdowns' grouped
statements and the context figures and returns a frozen ``Rollup``.

Only verified forms count, unless a preview asks to count the forms still pending beside them;
rejected forms never count, and the report says how many forms it left out and why. Totals
(overall, all key accounts together) add the groups' sums, which are additive, so they cost no
statement of their own."""
from sqlalchemy import case, func, select

from ...extensions import db
from ...models import Answer, Response
from ...models.base import utcnow
from ..scoring import METHOD_NOTE
from ..settings import all_settings
from . import context
from .figures import Excluded, Group, Rollup, Summary
from .period import Period, parse_period
from .scores import CURRENT, PREVIOUS, WHOLE_FORM, Selection, by_dimension, by_question, whole_form
from .stats import change_between, score_of

COUNTED = ("authentic",)
PREVIEW = ("authentic", "pending")


def selection_for(period: Period, include_pending=False) -> Selection:
    return Selection(period.quarters, None if period.whole_quarters else period.utc_bounds(),
                     PREVIEW if include_pending else COUNTED, period.previous_quarter)


def _groups(rows, thresholds, with_change) -> tuple:
    """Group rows (tag, key, label, detail, n, Σ, Σ², satisfied) → Groups of the current period,
    best score first, each with its change when the previous quarter's rows are there."""
    current, previous = {}, {}
    for tag, key, label, detail, *four in rows:
        (current if tag == CURRENT else previous)[key] = (label, detail or "", tuple(four))
    out = []
    for key, (label, detail, four) in current.items():
        figures = score_of(*four, **thresholds)
        change = None
        if with_change and key in previous:
            change = change_between(four, previous[key][2])
        out.append(Group("" if key is None else str(key), "" if label is None else str(label), figures,
                         str(detail), change))
    out.sort(key=lambda g: (-(g.figures.score or 0), -g.figures.responses, g.label))
    return tuple(out)


def _total(rows, tag=CURRENT):
    """The four sums over the groups of one tag."""
    n = t = s = k = 0
    for row in rows:
        if row[0] == tag:
            n, t, s, k = n + (row[4] or 0), t + (row[5] or 0), s + (row[6] or 0), k + (row[7] or 0)
    return n, t, s, k


def _excluded(period: Period, selection: Selection) -> Excluded:
    plain = Selection(selection.quarters, selection.bounds, ("authentic", "pending", "rejected"), None)
    by_state = {state: (n, unscored) for state, n, unscored in db.session.execute(
        select(Response.verification_status, func.count(Response.id),
               func.sum(case((Response.score.is_(None), 1), else_=0)))
        .where(plain.current()).group_by(Response.verification_status))}
    counted = sum(by_state.get(s, (0, 0))[1] or 0 for s in selection.statuses)
    not_applicable = db.session.scalar(
        select(func.count(Answer.id)).join(Response, Response.id == Answer.response_id)
        .where(selection.current(), Answer.is_na.is_(True)))
    pending = 0 if "pending" in selection.statuses else by_state.get("pending", (0, 0))[0]
    return Excluded(by_state.get("rejected", (0, 0))[0], pending, not_applicable or 0, counted)


def _thresholds(settings=None) -> dict:
    settings = settings or all_settings()
    return {"low_n": settings["rollup.low_confidence_n"], "too_few_n": settings["rollup.too_few_n"]}


def summary(period, *, include_pending=False) -> Summary:
    """What the quarter close page shows of a rollup: the whole, its projects and the forms left
    out; the same statements ``rollup`` runs for them (four, where the whole rollup runs some
    thirty and reads every complaint's timeline)."""
    period = parse_period(period) if isinstance(period, str) else period
    thresholds = _thresholds()
    selection = selection_for(period, include_pending)
    with_change = selection.previous is not None
    channel_rows = db.session.execute(whole_form("by_channel", selection)).all()
    return Summary(
        overall=score_of(*_total(channel_rows), **thresholds), excluded=_excluded(period, selection),
        by_project=_groups(db.session.execute(whole_form("by_project", selection)).all(), thresholds, with_change))


def rollup(period, *, include_pending=False, now=None) -> Rollup:
    """The rollup of ``period`` (a Period or its text: 2026Q4, 2026-11, 2026H2, 2026, a range)."""
    period = parse_period(period) if isinstance(period, str) else period
    now = now or utcnow()
    thresholds = _thresholds()
    selection = selection_for(period, include_pending)
    with_change = selection.previous is not None
    breakdowns = {name: db.session.execute(whole_form(name, selection)).all() for name in WHOLE_FORM}
    channel_rows = breakdowns["by_channel"]
    overall_sums = _total(channel_rows)
    overall = score_of(*overall_sums, **thresholds)
    change = change_between(overall_sums, _total(channel_rows, PREVIOUS)) if with_change else None
    key_account_rows = breakdowns["by_key_account"]
    bounds = period.utc_bounds()
    return Rollup(
        period=period.info(), computed_at=now.isoformat(timespec="seconds"), include_pending=include_pending,
        method=str(METHOD_NOTE), overall=overall, change=change, excluded=_excluded(period, selection),
        by_question=_groups(db.session.execute(by_question(selection)).all(), thresholds, False),
        by_dimension=_groups(db.session.execute(by_dimension(selection)).all(), thresholds, with_change),
        key_accounts=score_of(*_total(key_account_rows), **thresholds),
        **{name: _groups(rows, thresholds, with_change) for name, rows in breakdowns.items()},
        rounds=(rounds := context.rounds(period.quarters)),
        invited=sum(r.invited for r in rounds), responded=sum(r.responded for r in rounds),
        coverage=context.coverage(period.quarters, now), callbacks=context.callbacks(period.quarters),
        complaints=context.complaints(bounds, now), problems=context.problems(bounds),
        followups=context.followups(bounds, now), plans=context.plans(bounds),
        suggestions=context.suggestions(selection),
        trend=context.trend(period.quarters[-1], (period.key, overall), **thresholds),
        plan=context.plan_citation(period.first_day.year, now))
