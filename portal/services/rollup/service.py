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
from ..figures_cache import cached
from ..scoring import METHOD_NOTE
from ..settings import all_settings
from . import context
from .figures import Excluded, Group, Rollup, Summary
from .period import Period, parse_period
from .scores import CURRENT, PREVIOUS, WHOLE_FORM, Selection, by_dimension, by_question, sums, whole_form
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


def _forms_by_state(selection: Selection) -> dict:
    """{verification state: (forms, forms without a score)} of the selection's period, every state."""
    plain = Selection(selection.quarters, selection.bounds, ("authentic", "pending", "rejected"), None)
    return {state: (n, unscored) for state, n, unscored in db.session.execute(
        select(Response.verification_status, func.count(Response.id),
               func.sum(case((Response.score.is_(None), 1), else_=0)))
        .where(plain.current()).group_by(Response.verification_status))}


def _excluded(period: Period, selection: Selection) -> Excluded:
    by_state = _forms_by_state(selection)
    counted = sum(by_state.get(s, (0, 0))[1] or 0 for s in selection.statuses)
    not_applicable = db.session.scalar(
        select(func.count(Answer.id)).join(Response, Response.id == Answer.response_id)
        .where(selection.current(), Answer.is_na.is_(True)))
    pending = 0 if "pending" in selection.statuses else by_state.get("pending", (0, 0))[0]
    return Excluded(by_state.get("rejected", (0, 0))[0], pending, not_applicable or 0, counted)


def _thresholds(settings=None) -> dict:
    settings = settings or all_settings()
    return {"low_n": settings["rollup.low_confidence_n"], "too_few_n": settings["rollup.too_few_n"]}


def summaries(period) -> tuple:
    """What the quarter close page shows of a rollup, verified only and with the pending forms:
    (Summary, Summary), each the whole, its projects and the forms left out (their N/A answers
    not counted: None). Two statements, where two whole rollups run some sixty and read every
    complaint's timeline: the projects' sums grouped by verification state too (a project's
    figures with the pending forms add its pending sums to its verified ones), and the count of
    forms per state."""
    period = parse_period(period) if isinstance(period, str) else period
    thresholds = _thresholds()
    both = Selection(period.quarters, None if period.whole_quarters else period.utc_bounds(), PREVIEW, None)
    (key, label, detail), join, _extra = WHOLE_FORM["by_project"]
    status = Response.verification_status
    rows = db.session.execute(
        join(select(status, key, label, detail, *sums(Response.score)).select_from(Response))
        .where(both.current(), Response.score.is_not(None)).group_by(status, key, label, detail)).all()
    by_state = _forms_by_state(both)
    out = []
    for statuses in (COUNTED, PREVIEW):
        added = {}
        for state, project, name, code, *four in rows:
            if state in statuses:
                n, t, q, k = added.get(project, (name, code, 0, 0, 0, 0))[2:]
                added[project] = (name, code, n + (four[0] or 0), t + (four[1] or 0), q + (four[2] or 0),
                                  k + (four[3] or 0))
        grouped = [(CURRENT, project, *values) for project, values in added.items()]
        excluded = Excluded(by_state.get("rejected", (0, 0))[0],
                            0 if "pending" in statuses else by_state.get("pending", (0, 0))[0], None,
                            sum(by_state.get(s, (0, 0))[1] or 0 for s in statuses))
        out.append(Summary(overall=score_of(*_total(grouped), **thresholds), excluded=excluded,
                           by_project=_groups(grouped, thresholds, False)))
    return tuple(out)


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


def current_rollup(period, *, include_pending=False) -> Rollup:
    """``rollup(period)`` as of now for a page or a download: the same figures until the next
    write, or a minute (services.figures_cache). Publication computes its own, never kept."""
    period = parse_period(period) if isinstance(period, str) else period
    return cached(("rollup", period.key, include_pending), lambda: rollup(period, include_pending=include_pending))
