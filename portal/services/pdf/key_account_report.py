"""A key account's service report for the client (DESIGN §4.9, §7), in the client's language
(``KeyAccount.report_language``): a cover with the client, the quarter and the account team,
then the quarter's scores and responses, complaints and their outcomes, follow-ups and the
callbacks made. Laid out from ``services.key_accounts.report.ServiceReport``; only words meant
for the client (the states as the client sees them, never the internal steps)."""
import re
from dataclasses import dataclass

from flask_babel import force_locale, format_date, gettext as _
from flask_babel import lazy_gettext as _l

from ...labels import (ATTEMPT_OUTCOME_LABELS, CHANNEL_LABELS, COMPLAINT_CHANNEL_LABELS, DIMENSION_LABELS,
                       REMEDY_KIND_LABELS)
from ..key_accounts.report import ServiceReport
from ..quarters import local_date, local_today
from ..scoring import fmt_rate, fmt_score
from ..settings import setting_choices
from .questionnaire import Document, PdfFile
from .render import render_pdf

TEAM_ROLE_LABELS = {"pm": _l("Project manager"), "service_contact": _l("Customer-service contact"),
                    "engineer": _l("On-site engineer"), "sales": _l("Sales")}
#: the forms as the client knows them
FORM_LABELS = {"pm_quarterly": _l("Quarterly questionnaire"), "sales_visit": _l("Visit / inquiry"),
               "callback": _l("Callback"), "complaint_followup": _l("Complaint handling check")}
#: a complaint's state as the client sees it: received, being handled, told, closed or not upheld
COMPLAINT_PHASE_LABELS = {"received": _l("Received"), "handling": _l("Being handled"),
                          "told": _l("Outcome communicated"), "closed": _l("Closed"),
                          "invalid": _l("Not upheld")}
_COMPLAINT_PHASE = {"registered": "received", "invalid": "invalid", "notified": "told", "closed": "closed"}
#: a follow-up's state as the client sees it (PMO's verification is internal)
FOLLOWUP_PHASE_LABELS = {"in_progress": _l("In progress"), "resolved": _l("Resolved")}
_RESOLVED = ("resolved", "closed")
CALL_KIND_LABELS = {"ticket": _l("Callback after a ticket"), "relationship": _l("Regular service call")}
DAY = "yyyy-MM-dd"


@dataclass(frozen=True)
class Figure:
    label: str
    score: str
    rate: str
    responses: int


@dataclass(frozen=True)
class ResponseRow:
    date: str
    project: str
    form: str
    channel: str
    respondent: str
    score: str
    comment: str


@dataclass(frozen=True)
class ComplaintRow:
    reference: str
    registered_on: str
    project: str
    channel: str
    category: str
    state: str
    closed_on: str
    remedy: str
    outcome: str
    told_on: str
    check_score: str


@dataclass(frozen=True)
class FollowUpRow:
    opened_on: str
    project: str
    category: str
    state: str
    resolved_on: str
    about: tuple                # what raised it, one line per answer
    cause: str
    corrective_action: str
    preventive_action: str


@dataclass(frozen=True)
class CallbackRow:
    date: str
    kind: str
    ticket: str
    project: str
    person: str
    outcome: str
    attempts: int
    score: str


@dataclass(frozen=True)
class ServiceReportDocument:
    doc: Document
    client_name: str
    quarter: str
    period: str
    prepared_on: str
    team: tuple                 # (role label, name)
    projects: tuple             # "code name"
    overall: Figure
    dimensions: tuple           # Figure
    responses: tuple            # ResponseRow
    complaints: tuple           # ComplaintRow
    followups: tuple            # FollowUpRow
    callbacks: tuple            # CallbackRow


def _day(value) -> str:
    """A naive-UTC timestamp (or a date) as the local date."""
    if value is None:
        return ""
    return format_date(local_date(value) if hasattr(value, "hour") else value, DAY)


def _label(labels, code) -> str:
    return str(labels.get(code, code)) if code else ""


def _category(direction, problem_type, directions, types) -> str:
    return " · ".join(p for p in (directions.get(direction, direction or ""),
                                  types.get(problem_type, problem_type or "")) if p)


def _trigger(reason, question, answer) -> str:
    if reason == "comment":
        return _("Your comment: %(text)s", text=answer or "")
    return _("A low score on “%(question)s”: %(answer)s", question=question or "", answer=answer or "")


def _figure(label, summary) -> Figure:
    return Figure(label=label, score=fmt_score(summary.score), rate=fmt_rate(summary.satisfaction_rate),
                  responses=summary.responses)


def service_report_document(report: ServiceReport) -> ServiceReportDocument:
    """``report`` laid out for print: labels and figures as text in the current locale."""
    locale = report.language
    directions = dict(setting_choices("problems.directions", locale))
    types = dict(setting_choices("problems.types", locale))
    period = f"{format_date(report.first_day, DAY)} – {format_date(report.last_day, DAY)}"
    title = _("Customer service report")
    responses = tuple(
        ResponseRow(date=_day(r.submitted_at), project=f"{r.project_code} {r.project_name}",
                    form=_label(FORM_LABELS, r.form_kind), channel=_label(CHANNEL_LABELS, r.channel),
                    respondent=r.respondent or "–", score=fmt_score(r.score), comment=r.comment or "")
        for r in report.responses)
    complaints = tuple(
        ComplaintRow(reference=c.reference, registered_on=_day(c.registered_at), project=c.project_code or "",
                     channel=_label(COMPLAINT_CHANNEL_LABELS, c.channel),
                     category=_category(c.direction, c.problem_type, directions, types),
                     state=str(COMPLAINT_PHASE_LABELS[_COMPLAINT_PHASE.get(c.state, "handling")]),
                     closed_on=_day(c.closed_at), remedy=_label(REMEDY_KIND_LABELS, c.remedy_kind),
                     outcome=c.outcome or "", told_on=_day(c.told_at),
                     check_score=fmt_score(c.check_score) if c.check_score is not None else "")
        for c in report.complaints)
    followups = tuple(
        FollowUpRow(opened_on=_day(f.opened_at), project=f"{f.project_code} {f.project_name}",
                    category=_category(f.direction, f.problem_type, directions, types),
                    state=str(FOLLOWUP_PHASE_LABELS["resolved" if f.state in _RESOLVED else "in_progress"]),
                    resolved_on=_day(f.resolved_at) if f.state in _RESOLVED else "",
                    about=tuple(_trigger(*t) for t in f.triggers),
                    cause=f.cause or "", corrective_action=f.corrective_action or "",
                    preventive_action=f.preventive_action or "")
        for f in report.followups)
    callbacks = tuple(
        CallbackRow(date=_day(c.called_at), kind=_label(CALL_KIND_LABELS, c.kind), ticket=c.ticket or "",
                    project=c.project_code, person=c.person or "–",
                    outcome=_label(ATTEMPT_OUTCOME_LABELS, c.outcome), attempts=c.attempts,
                    score=fmt_score(c.score) if c.score is not None else "–")
        for c in report.callbacks)
    return ServiceReportDocument(
        doc=Document(title=title, subtitle=_("Quarter %(q)s", q=report.quarter), language=locale,
                     reference=f"{report.client_name} · {report.quarter}"),
        client_name=report.client_name, quarter=report.quarter, period=period,
        prepared_on=format_date(local_today(), DAY),
        team=tuple((_label(TEAM_ROLE_LABELS, m.role), m.name) for m in report.team),
        projects=tuple(f"{p.code} {p.name}" for p in report.projects),
        overall=_figure(_("All responses"), report.overall),
        dimensions=tuple(_figure(_label(DIMENSION_LABELS, d.dimension), d.summary) for d in report.dimensions),
        responses=responses, complaints=complaints, followups=followups, callbacks=callbacks)


def _filename(report) -> str:
    name = re.sub(r"[\\/:*?\"<>|\s]+", "-", report.client_name).strip("-") or "client"
    return f"service-report-{name}-{report.quarter}.pdf"


def render_service_report(report: ServiceReport) -> PdfFile:
    """The client's service report as PDF, in the account's report language."""
    with force_locale(report.language):
        document = service_report_document(report)
        data = render_pdf("pdf/key_account_report.html", report=document, doc=document.doc)
    return PdfFile(_filename(report), data)
