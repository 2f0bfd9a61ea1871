"""The score breakdowns of a rollup, aggregated in the database: one GROUP BY per breakdown,
each returning per group the four sums DESIGN §5's method needs — n, Σs_r, Σs_r², and how many
s_r ≥ 4 — from which ``stats.score_of`` derives the score, the satisfaction rate and both
intervals. No row of a response is read into Python.

s_r, a form's score over the whole form, is ``responses.score`` (the mean of its normalized
answers, set with them at submission; N/A answers have none). Over a dimension it is the mean of
the form's answers in that dimension (a grouped subquery); over one question it is the answer.
When the period is one quarter the same statement also groups the previous quarter's verified
forms, so each group carries its change.
"""
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, literal, or_, select

from ...models import (Answer, CallbackTask, Client, Department, DepartmentMember, Project, Question, Response,
                       ServiceCase, Template, TemplateVersion, User)
from .stats import SATISFIED_FROM

CURRENT, PREVIOUS = "current", "previous"


@dataclass(frozen=True)
class Selection:
    """Which forms count: the period's (by quarter or by submission time) in the given states,
    and, for a quarter, the previous quarter's verified ones beside them."""
    quarters: tuple
    bounds: tuple          # (start, end) naive UTC when not selecting by quarter, else None
    statuses: tuple
    previous: str | None   # the previous quarter, when the change is wanted

    def current(self):
        if self.bounds is None:
            where = Response.quarter.in_(self.quarters)
        else:
            where = and_(Response.submitted_at >= self.bounds[0], Response.submitted_at < self.bounds[1])
        return and_(where, Response.verification_status.in_(self.statuses))

    def where(self):
        if self.previous is None:
            return self.current()
        return or_(self.current(), and_(Response.quarter == self.previous,
                                        Response.verification_status == "authentic"))

    def tag(self):
        """'current' or 'previous' for a form (a column to group by)."""
        if self.previous is None:
            return literal(CURRENT)
        return case((self.current(), CURRENT), else_=PREVIOUS)


def sums(value):
    """The four aggregates of a per-response score column."""
    return (func.count(value), func.sum(value), func.sum(value * value),
            func.sum(case((value >= SATISFIED_FROM, 1), else_=0)))


#: each whole-form breakdown: (key, label, detail) columns, the joins, extra conditions
def _project(q):
    return q.join(Project, Project.id == Response.project_id)


def _pm(q):
    return _project(q).join(User, User.id == Project.pm_id)


def _sales(q):
    return _project(q).outerjoin(User, User.id == Project.sales_id)


def _client(q):
    return _project(q).join(Client, Client.id == Project.client_id)


def _kind(q):
    return (q.join(TemplateVersion, TemplateVersion.id == Response.template_version_id)
            .join(Template, Template.id == TemplateVersion.template_id))


def _engineer(q):
    return (q.join(CallbackTask, CallbackTask.response_id == Response.id)
            .join(ServiceCase, ServiceCase.id == CallbackTask.case_id))


def _department(q):
    member = exists().where(DepartmentMember.department_id == Department.id,
                            DepartmentMember.user_id == Project.pm_id)
    return _project(q).join(Department, or_(Department.head_id == Project.pm_id, member))


WHOLE_FORM = {
    "by_project": ((Project.id, Project.name, Project.code), _project, ()),
    "by_pm": ((User.id, User.display_name, literal("")), _pm, ()),
    "by_sales": ((User.id, User.display_name, literal("")), _sales, ()),
    "by_client": ((Client.id, Client.name, literal("")), _client, ()),
    "by_key_account": ((Client.id, Client.name, literal("")), _client, (Client.key_account.is_(True),)),
    "by_channel": ((Response.channel, Response.channel, literal("")), lambda q: q, ()),
    "by_kind": ((Template.kind, Template.kind, literal("")), _kind, ()),
    "by_engineer": ((ServiceCase.engineer, ServiceCase.engineer, literal("")), _engineer,
                    (ServiceCase.engineer.is_not(None), ServiceCase.engineer != "")),
    "by_department": ((Department.id, Department.name, literal("")), _department, ()),
}


def whole_form(name, selection: Selection):
    """The statement of one whole-form breakdown: rows (tag, key, label, detail, n, Σ, Σ², satisfied)."""
    (key, label, detail), join, extra = WHOLE_FORM[name]
    tag = selection.tag()
    query = join(select(tag, key, label, detail, *sums(Response.score)).select_from(Response))
    return (query.where(selection.where(), Response.score.is_not(None), *extra)
            .group_by(tag, key, label, detail))


def by_dimension(selection: Selection):
    """s_r per (form, dimension) in a subquery, then grouped by dimension."""
    tag = selection.tag()
    per_form = (select(tag.label("tag"), Question.dimension.label("dimension"),
                       func.avg(Answer.normalized).label("s"))
                .select_from(Answer).join(Response, Response.id == Answer.response_id)
                .join(Question, Question.id == Answer.question_id)
                .where(selection.where(), Answer.normalized.is_not(None), Question.dimension.is_not(None))
                .group_by(tag, Answer.response_id, Question.dimension).subquery())
    return (select(per_form.c.tag, per_form.c.dimension, per_form.c.dimension, literal(""), *sums(per_form.c.s))
            .group_by(per_form.c.tag, per_form.c.dimension))


def by_question(selection: Selection):
    """Per answer, grouped by the survey kind and the question's code (the same question across
    versions of a template)."""
    key = Template.kind + literal(":") + Question.code
    return (select(literal(CURRENT), key, func.min(Question.text), func.min(Question.dimension),
                   *sums(Answer.normalized))
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .join(TemplateVersion, TemplateVersion.id == Question.version_id)
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(selection.current(), Answer.normalized.is_not(None))
            .group_by(Template.kind, Question.code))

