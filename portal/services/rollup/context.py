"""Everything a rollup reports beside the scores (DESIGN §4.5.2): response rates per round,
coverage, callback rates per priority, complaints and their time limits, problems by direction
and type, follow-ups, improvement plans, the clients' suggestions and the trend. Each is a
fixed number of grouped statements, whatever the period holds."""
from collections import defaultdict

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import (PRIORITIES, CallbackTask, Complaint, Department, FollowUp, HistoricalResult, ImprovementPlan,
                       Invitation, Milestone, Project, Response, SalesInquiry, ServiceCase, SurveyRound, User)
from ...models.rollup import OVERALL
from ..callbacks.sampling import rates, required_for
from ..quarters import current_quarter, local_today, parse_quarter, shift_quarter
from .figures import (CallbackRate, ComplaintFigures, Coverage, FollowupFigures, PlanCitation, PlanRef,
                      ProblemCount, ProjectRef, RoundRate, Suggestion, TrendPoint)
from .scores import sums
from .stats import score_of

SUGGESTIONS = 20
EXAMPLES = 3
TREND_QUARTERS = 4


def rounds(quarters) -> tuple:
    """Each round of the period's quarters: invited, answered (rejected forms do not count)."""
    answered = and_(Response.invitation_id == Invitation.id, Response.verification_status != "rejected")
    rows = db.session.execute(
        select(SurveyRound.id, Project.code, Project.name, User.display_name,
               func.count(distinct(Invitation.id)), func.count(distinct(Response.id)))
        .select_from(SurveyRound).join(Project, Project.id == SurveyRound.project_id)
        .join(User, User.id == Project.pm_id)
        .outerjoin(Invitation, Invitation.round_id == SurveyRound.id)
        .outerjoin(Response, answered)
        .where(SurveyRound.quarter.in_(quarters))
        .group_by(SurveyRound.id, Project.code, Project.name, User.display_name)
        .order_by(Project.code, SurveyRound.id)).all()
    return tuple(RoundRate(rid, code, name, pm, invited, responded, responded / invited if invited else None)
                 for rid, code, name, pm, invited, responded in rows)


def _ref(project) -> ProjectRef:
    return ProjectRef(project.id, project.code, project.name, project.pm.display_name if project.pm else "",
                      project.sales.display_name if project.sales else "")


def _people():
    """A project's PM and sales owner by name, without their roles."""
    return (joinedload(Project.pm).lazyload(User.role_rows), joinedload(Project.sales).lazyload(User.role_rows))


def _surely_inquired():
    """A project some inquiry came on or after its every trigger: its last key milestone reached
    and its completion. Such a project has nothing uncovered (sales_inquiries.uncovered_trigger
    asks the same of the latest trigger), so only the others are loaded and asked; a completion
    of unknown date is never sure here."""
    last_reached = (select(func.max(Milestone.reached_date))
                    .where(Milestone.project_id == Project.id, Milestone.is_key.is_(True))
                    .scalar_subquery())
    return (select(SalesInquiry.id)
            .where(SalesInquiry.project_id == Project.id,
                   or_(last_reached.is_(None), SalesInquiry.inquired_on >= last_reached),
                   or_(Project.status != "completed", SalesInquiry.inquired_on >= Project.end_date))
            .exists())


def coverage(quarters, now=None) -> Coverage:
    """Active projects lacking a PM round in a quarter of the period (up to the current one), and
    projects whose completion or reached key milestone no sales inquiry has answered."""
    from ..sales_inquiries import InquiryHistory, _histories, uncovered_trigger
    due = [q for q in quarters if parse_quarter(q) <= parse_quarter(current_quarter(now))] or list(quarters[:1])
    rounds_held = (select(func.count(distinct(SurveyRound.quarter)))
                   .where(SurveyRound.project_id == Project.id, SurveyRound.quarter.in_(due))
                   .scalar_subquery())
    active = db.session.scalar(select(func.count(Project.id)).where(Project.status == "active"))
    lacking = db.session.scalars(
        select(Project).where(Project.status == "active", rounds_held < len(due))
        .options(*_people()).order_by(Project.code)).unique().all()
    reached = select(Milestone.id).where(Milestone.project_id == Project.id, Milestone.is_key.is_(True),
                                         Milestone.reached_date.is_not(None)).exists()
    candidates = db.session.scalars(
        select(Project).where(or_(Project.status == "completed", reached), ~_surely_inquired())
        .options(selectinload(Project.milestones), *_people())
        .order_by(Project.code)).unique().all()
    histories = _histories([p.id for p in candidates])
    uninquired = [p for p in candidates if uncovered_trigger(p, histories.get(p.id, InquiryHistory()))]
    return Coverage(active or 0, tuple(_ref(p) for p in lacking), tuple(_ref(p) for p in uninquired))


def callbacks(quarters) -> tuple:
    """Per priority over the period's quarters: closed cases, the calls the rate requires (per
    quarter, ⌈rate × closed⌉), the calls that reached the reporter, the rate and the target."""
    target = rates()
    closed = {(q, p): n for q, p, n in db.session.execute(
        select(ServiceCase.quarter, ServiceCase.priority, func.count(ServiceCase.id))
        .where(ServiceCase.quarter.in_(quarters)).group_by(ServiceCase.quarter, ServiceCase.priority))}
    reached = {(q, p): n for q, p, n in db.session.execute(
        select(CallbackTask.quarter, CallbackTask.priority, func.count(CallbackTask.id))
        .where(CallbackTask.quarter.in_(quarters), CallbackTask.kind == "ticket", CallbackTask.state == "reached")
        .group_by(CallbackTask.quarter, CallbackTask.priority))}
    rows = []
    for p in PRIORITIES:
        n_closed = sum(closed.get((q, p), 0) for q in quarters)
        required = sum(required_for(target[p], closed.get((q, p), 0)) for q in quarters)
        n_reached = sum(reached.get((q, p), 0) for q in quarters)
        rows.append(CallbackRate(p, n_closed, required, n_reached, n_reached / n_closed if n_closed else None,
                                 target[p], n_reached >= required))
    return tuple(rows)


def complaints(bounds, now) -> ComplaintFigures:
    """The complaints registered in the period, with the share handled within each time limit."""
    from ..complaints.clock import WorkingHours, clock_limits
    from ..complaints.report import _load, _row, _share
    from ..working_days import CalendarUnknown
    try:
        hours = WorkingHours()
    except CalendarUnknown:
        hours = None
    limits = clock_limits()
    rows = [_row(c, now, hours, limits) for c in _load(bounds[0], bounds[1], now, None)]
    first, resolution = _share(r.first_contact for r in rows), _share(r.resolution for r in rows)
    closed = sum(1 for r in rows if r.complaint.state == "closed")
    invalid = sum(1 for r in rows if r.complaint.state == "invalid")
    return ComplaintFigures(len(rows), closed, len(rows) - closed - invalid, first.within, first.late, first.share,
                            resolution.within, resolution.late, resolution.share)


def problems(bounds) -> tuple:
    """Follow-ups and complaints opened in the period, counted by direction and type (DESIGN §6),
    each group with up to three examples in the clients' or handlers' words."""
    start, end = bounds
    counts = defaultdict(int)
    for model in (FollowUp, Complaint):
        for direction, kind, n in db.session.execute(
                select(model.direction, model.problem_type, func.count(model.id))
                .where(model.created_at >= start, model.created_at < end)
                .group_by(model.direction, model.problem_type)):
            counts[(direction or "", kind or "")] += n
    examples = defaultdict(list)
    texts = (select(FollowUp.direction, FollowUp.problem_type, func.coalesce(Response.comment, FollowUp.cause),
                    FollowUp.created_at)
             .join(Response, Response.id == FollowUp.response_id)
             .where(FollowUp.created_at >= start, FollowUp.created_at < end)
             .union_all(select(Complaint.direction, Complaint.problem_type, Complaint.description, Complaint.created_at)
                        .where(Complaint.created_at >= start, Complaint.created_at < end)).subquery())
    for direction, kind, text, _at in db.session.execute(
            select(texts).order_by(texts.c[3].desc()).limit(EXAMPLES * max(1, len(counts)) * 4)):
        bucket = examples[(direction or "", kind or "")]
        if text and len(bucket) < EXAMPLES:
            bucket.append(text.strip()[:200])
    return tuple(ProblemCount(d, k, n, tuple(examples[(d, k)]))
                 for (d, k), n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def followups(bounds, now) -> FollowupFigures:
    start, end = bounds
    in_period = and_(FollowUp.created_at >= start, FollowUp.created_at < end)
    done = FollowUp.state.in_(("resolved", "closed"))
    row = db.session.execute(select(
        func.sum(case((in_period, 1), else_=0)),
        func.sum(case((and_(FollowUp.verified_at >= start, FollowUp.verified_at < end, FollowUp.state == "closed"),
                       1), else_=0)),
        func.sum(case((and_(in_period, ~done, FollowUp.due_on < local_today(now)), 1), else_=0)),
        func.sum(case((and_(FollowUp.escalated_at >= start, FollowUp.escalated_at < end), 1), else_=0)),
        func.sum(case((and_(FollowUp.created_at < end, FollowUp.state != "closed"), 1), else_=0)))).one()
    return FollowupFigures(*(int(v or 0) for v in row))


def plans(bounds) -> tuple:
    start, end = bounds
    rows = db.session.execute(
        select(ImprovementPlan.id, ImprovementPlan.title, ImprovementPlan.state, Department.name,
               ImprovementPlan.due_on)
        .join(Department, Department.id == ImprovementPlan.department_id)
        .where(ImprovementPlan.created_at < end,
               or_(ImprovementPlan.closed_at.is_(None), ImprovementPlan.closed_at >= start))
        .order_by(ImprovementPlan.due_on, ImprovementPlan.id)).all()
    return tuple(PlanRef(pid, title, state, dept, due.isoformat()) for pid, title, state, dept, due in rows)


def suggestions(selection) -> tuple:
    rows = db.session.execute(
        select(Project.code, Response.comment).join(Project, Project.id == Response.project_id)
        .where(selection.current(), Response.comment.is_not(None), Response.comment != "")
        .order_by(Response.submitted_at.desc(), Response.id.desc()).limit(SUGGESTIONS)).all()
    return tuple(Suggestion(code, text.strip()[:500]) for code, text in rows)


def trend(last_quarter, current, *, low_n, too_few_n) -> tuple:
    """The four quarters before ``last_quarter`` from their verified forms — or, for a quarter the
    portal holds no form of, the imported history (labelled so) — then the period itself."""
    earlier = [shift_quarter(last_quarter, n) for n in range(-TREND_QUARTERS, 0)]
    portal = {q: (n, t, s, k) for q, n, t, s, k in db.session.execute(
        select(Response.quarter, *sums(Response.score))
        .where(Response.quarter.in_(earlier), Response.verification_status == "authentic",
               Response.score.is_not(None)).group_by(Response.quarter))}
    weight = func.sum(HistoricalResult.responses)
    rated = func.sum(case((HistoricalResult.satisfaction_rate.is_not(None), HistoricalResult.responses), else_=0))
    imported = {q: (int(n), float(score_sum) / n, (float(rate_sum) / rn) if rn else None)
                for q, n, score_sum, rate_sum, rn in db.session.execute(
                    select(HistoricalResult.quarter, weight,
                           func.sum(HistoricalResult.score * HistoricalResult.responses),
                           func.sum(func.coalesce(HistoricalResult.satisfaction_rate, 0) * HistoricalResult.responses),
                           rated)
                    .where(HistoricalResult.quarter.in_(earlier), HistoricalResult.dimension == OVERALL)
                    .group_by(HistoricalResult.quarter)) if n}
    points = []
    for q in earlier:
        if q in portal or q not in imported:
            s = score_of(*portal.get(q, (0, 0, 0, 0)), low_n=low_n, too_few_n=too_few_n)
            points.append(TrendPoint(q, "portal", s.responses, s.score, s.score_low, s.score_high,
                                     s.satisfaction_rate, s.rate_low, s.rate_high))
        else:
            n, score, rate = imported[q]
            points.append(TrendPoint(q, "imported", n, score, None, None, rate, None, None))
    points.append(TrendPoint(current[0], "portal", current[1].responses, current[1].score, current[1].score_low,
                             current[1].score_high, current[1].satisfaction_rate, current[1].rate_low,
                             current[1].rate_high))
    return tuple(points)


def plan_citation(year, now) -> PlanCitation | None:
    """The year's measurement plan as it stood at ``now`` (its latest version then)."""
    from ..measurement_plans import current_plan
    plan = current_plan(year, now)
    return PlanCitation(plan.id, plan.year, plan.version) if plan else None
