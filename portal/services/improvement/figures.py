"""The figures a plan's effect is judged by, until the quarterly rollup offers the scores of a
dimension and projects before and after: counts and means over the projects of the plan's items,
in the N days before its measures were done against the N days after (N: the days since, capped
at the check's offset). A handful of aggregate statements, whatever the number of items."""
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, select

from ...extensions import db
from ...models import Answer, Complaint, FollowUp, ImprovementPlanItem, Question, Response
from ..complaints.rules import OPEN_STATES as COMPLAINT_OPEN_STATES
from ..quarters import portal_zone


@dataclass(frozen=True)
class PlanFigures:
    """What a check looks at. Before/after values are None while the measures are not done (or
    done today); a mean is None when no score fell in its window."""
    projects: int
    followups_open: int
    followups_closed: int
    complaints_open: int
    complaints_closed: int
    measures_done_on: date | None = None
    window_days: int | None = None
    new_followups_before: int | None = None
    new_followups_after: int | None = None
    new_complaints_before: int | None = None
    new_complaints_after: int | None = None
    responses_before: int | None = None
    responses_after: int | None = None
    score_before: float | None = None
    score_after: float | None = None
    dimension: str | None = None
    dimension_before: float | None = None
    dimension_after: float | None = None

    @property
    def compared(self) -> bool:
        return self.window_days is not None and self.window_days > 0

    def as_dict(self) -> dict:
        """JSON-ready (dates as ISO strings), as kept on a recorded check."""
        data = asdict(self)
        if self.measures_done_on is not None:
            data["measures_done_on"] = self.measures_done_on.isoformat()
        return data


def _start_of(day: date) -> datetime:
    """00:00 of ``day`` in the portal's time zone, as naive UTC (how timestamps are stored)."""
    local = datetime.combine(day, time.min, tzinfo=portal_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _mean(value):
    return round(float(value), 2) if value is not None else None


def _window_days(plan, today, cap_days):
    if plan.measures_done_on is None:
        return None
    if cap_days is None:
        offsets = [c.day_offset for c in plan.checks if c.revision == plan.revision]
        if not offsets:
            from .effect import check_offsets
            offsets = check_offsets()
        cap_days = max(offsets)
    return max(0, min((today - plan.measures_done_on).days, cap_days))


def _item_counts(plan):
    closed_followup = FollowUp.state == "closed"
    open_complaint = Complaint.state.in_(COMPLAINT_OPEN_STATES)
    row = db.session.execute(
        select(func.coalesce(func.sum(case((and_(FollowUp.id.is_not(None), ~closed_followup), 1), else_=0)), 0),
               func.coalesce(func.sum(case((closed_followup, 1), else_=0)), 0),
               func.coalesce(func.sum(case((open_complaint, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(Complaint.id.is_not(None), ~open_complaint), 1), else_=0)), 0))
        .select_from(ImprovementPlanItem)
        .outerjoin(FollowUp, FollowUp.id == ImprovementPlanItem.followup_id)
        .outerjoin(Complaint, Complaint.id == ImprovementPlanItem.complaint_id)
        .where(ImprovementPlanItem.plan_id == plan.id)).one()
    return [int(v) for v in row]


def _project_ids(plan):
    return sorted(set(db.session.scalars(
        select(func.coalesce(FollowUp.project_id, Complaint.project_id)).select_from(ImprovementPlanItem)
        .outerjoin(FollowUp, FollowUp.id == ImprovementPlanItem.followup_id)
        .outerjoin(Complaint, Complaint.id == ImprovementPlanItem.complaint_id)
        .where(ImprovementPlanItem.plan_id == plan.id))) - {None})


def _before_after(column, start, middle, end):
    """(in [start, middle), in [middle, end)) as two SQL expressions for sum()/avg()."""
    return and_(column >= start, column < middle), and_(column >= middle, column < end)


def _counts_before_after(model, projects, start, middle, end):
    before, after = _before_after(model.created_at, start, middle, end)
    row = db.session.execute(
        select(func.coalesce(func.sum(case((before, 1), else_=0)), 0),
               func.coalesce(func.sum(case((after, 1), else_=0)), 0))
        .where(model.project_id.in_(projects), model.created_at >= start, model.created_at < end)).one()
    return int(row[0]), int(row[1])


def _scores_before_after(projects, start, middle, end):
    before, after = _before_after(Response.submitted_at, start, middle, end)
    row = db.session.execute(
        select(func.sum(case((before, 1), else_=0)), func.sum(case((after, 1), else_=0)),
               func.avg(case((before, Response.score))), func.avg(case((after, Response.score))))
        .where(Response.project_id.in_(projects), Response.verification_status != "rejected",
               Response.score.is_not(None), Response.submitted_at >= start, Response.submitted_at < end)).one()
    return int(row[0] or 0), int(row[1] or 0), _mean(row[2]), _mean(row[3])


def _dimension_before_after(dimension, projects, start, middle, end):
    before, after = _before_after(Response.submitted_at, start, middle, end)
    row = db.session.execute(
        select(func.avg(case((before, Answer.normalized))), func.avg(case((after, Answer.normalized))))
        .select_from(Answer).join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Question.dimension == dimension, Answer.normalized.is_not(None),
               Response.project_id.in_(projects), Response.verification_status != "rejected",
               Response.submitted_at >= start, Response.submitted_at < end)).one()
    return _mean(row[0]), _mean(row[1])


def plan_figures(plan, today: date, *, cap_days=None) -> PlanFigures:
    """The plan's items by state and, once its measures are done, for the projects of its items:
    new follow-ups and complaints, the number and mean score of responses (not rejected) and the
    mean of the plan's dimension, in the N days before ``measures_done_on`` and the N days from it
    (N = days since, at most ``cap_days``, default the largest check offset)."""
    projects = _project_ids(plan)
    fu_open, fu_closed, c_open, c_closed = _item_counts(plan)
    base = dict(projects=len(projects), followups_open=fu_open, followups_closed=fu_closed,
                complaints_open=c_open, complaints_closed=c_closed, dimension=plan.dimension)
    days = _window_days(plan, today, cap_days)
    if days is None:
        return PlanFigures(**base)
    done = plan.measures_done_on
    start, middle, end = _start_of(done - timedelta(days=days)), _start_of(done), _start_of(done + timedelta(days=days))
    new_fu = _counts_before_after(FollowUp, projects, start, middle, end)
    new_c = _counts_before_after(Complaint, projects, start, middle, end)
    responses_before, responses_after, score_before, score_after = _scores_before_after(projects, start, middle, end)
    dim_before = dim_after = None
    if plan.dimension:
        dim_before, dim_after = _dimension_before_after(plan.dimension, projects, start, middle, end)
    return PlanFigures(**base, measures_done_on=done, window_days=days,
                       new_followups_before=new_fu[0], new_followups_after=new_fu[1],
                       new_complaints_before=new_c[0], new_complaints_after=new_c[1],
                       responses_before=responses_before, responses_after=responses_after,
                       score_before=score_before, score_after=score_after,
                       dimension_before=dim_before, dimension_after=dim_after)
