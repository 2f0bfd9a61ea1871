"""The rollup as an XLSX workbook (DESIGN §4.5.4): the same tables as the report — the summary
with the method and what was left out, every breakdown, rounds, coverage, callbacks,
complaints, problems, follow-ups, plans, suggestions, the trend — and a last sheet with every
counted answer of the period, one row each, read with one streamed query and written in
XlsxWriter's constant-memory mode, so a year of answers never sits in memory.

The tables render the ``Rollup`` as given (fresh or a published revision's thawed figures); the
answers sheet reads the forms the period counts now. Every text cell goes through the shared
neutralisation: nothing a client typed becomes a formula or a link."""
from datetime import timezone

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...labels import (CHANNEL_LABELS, CONFIDENCE_LABELS, DIMENSION_LABELS, TEMPLATE_KIND_LABELS,
                       TREND_SOURCE_LABELS, VERIFICATION_LABELS, setting_labels)
from ...models import Answer, Project, Question, Response, Template, TemplateVersion
from ..quarters import portal_zone
from ..xlsx import Percent, write_xlsx_streaming
from .period import parse_period
from .service import selection_for

#: rows fetched per round trip by the answers sheet's streamed query
STREAM_ROWS = 1000


def _pct(value):
    return None if value is None else Percent(value)


def _text(labels, code):
    return str(labels.get(code, code)) if code else ""


def group_name(breakdown, group) -> str:
    """A group's display name, as the page and the PDF show it."""
    if breakdown == "by_dimension":
        return _text(DIMENSION_LABELS, group.key) or group.label
    if breakdown == "by_channel":
        return _text(CHANNEL_LABELS, group.key) or group.label
    if breakdown == "by_kind":
        return _text(TEMPLATE_KIND_LABELS, group.key) or group.label
    if breakdown == "by_sales" and not group.key:
        return _("No sales owner")
    return group.label


def _score_values(f):
    return [f.responses, f.total, f.score, f.score_low, f.score_high, f.satisfied, _pct(f.satisfaction_rate),
            _pct(f.rate_low), _pct(f.rate_high), str(CONFIDENCE_LABELS.get(f.confidence, f.confidence))]


def _score_headers():
    return [_("Responses"), _("Satisfaction total"), _("Score (1–5)"), _("Score: interval low (95%)"), _("Score: interval high (95%)"),
            _("Satisfied (4 or more)"), _("Satisfaction rate"), _("Rate: interval low (95%)"), _("Rate: interval high (95%)"),
            _("Confidence")]


def _yes_no(value):
    return _("Yes") if value else _("No")


def _change_values(c):
    if c is None:
        return [None] * 7
    return [c.previous_responses, c.previous_score, _pct(c.previous_rate), c.score_delta,
            _yes_no(c.score_significant), None if c.rate_delta is None else Percent(c.rate_delta),
            _yes_no(c.rate_significant)]


def _change_headers():
    return [_("Previous quarter: responses"), _("Previous quarter: score"), _("Previous quarter: rate"),
            _("Change in score"), _("Score change significant"), _("Change in rate"), _("Rate change significant")]


def _summary(report):
    o, x, c = report.overall, report.excluded, report.change
    rows = [
        (_("Period"), report.period.key), (_("First day"), report.period.first_day),
        (_("Last day"), report.period.last_day), (_("Computed at (UTC)"), report.computed_at),
        (_("Counts the forms not verified yet"), _yes_no(report.include_pending)),
        (_("Responses counted"), o.responses), (_("Satisfaction total"), o.total),
        (_("Score (1–5)"), o.score), (_("Score: interval low (95%)"), o.score_low), (_("Score: interval high (95%)"), o.score_high),
        (_("Satisfied (4 or more)"), o.satisfied), (_("Satisfaction rate"), _pct(o.satisfaction_rate)),
        (_("Rate: interval low (95%)"), _pct(o.rate_low)), (_("Rate: interval high (95%)"), _pct(o.rate_high)),
        (_("Confidence"), str(CONFIDENCE_LABELS.get(o.confidence, o.confidence))),
    ]
    if c is not None:
        rows += list(zip(_change_headers(), _change_values(c)))
    k = report.key_accounts
    rows += [
        (_("Key accounts together: responses"), k.responses), (_("Key accounts together: score"), k.score),
        (_("Key accounts together: satisfaction rate"), _pct(k.satisfaction_rate)),
        (_("Invited"), report.invited), (_("Responded"), report.responded),
        (_("Response rate"), _pct(report.responded / report.invited) if report.invited else None),
        (_("Forms rejected by verification"), x.rejected),
        (_("Forms not verified yet"), _("counted in this preview") if report.include_pending else x.pending),
        (_("“Not applicable” answers (never counted as 0)"), x.not_applicable),
        (_("Counted forms with no scored answer"), x.unscored),
        (_("Method"), _(report.method)),
        (_("Measurement plan"), _("%(year)d, version %(version)d", year=report.plan.year, version=report.plan.version)
         if report.plan else "–"),
    ]
    return _("Report summary"), [_("Figure"), _("Value")], rows


#: the breakdown sheets, in the report's order
BREAKDOWNS = ("by_dimension", "by_question", "by_project", "by_pm", "by_sales", "by_client", "by_key_account",
              "by_channel", "by_kind", "by_engineer", "by_department")


def _breakdown_title(name):
    return {"by_dimension": _("By dimension"), "by_question": _("By question"), "by_project": _("By project"),
            "by_pm": _("By project manager"), "by_sales": _("By sales owner"), "by_client": _("By client"),
            "by_key_account": _("Key accounts"), "by_channel": _("By channel"), "by_kind": _("By survey kind"),
            "by_engineer": _("By engineer (callbacks)"), "by_department": _("By department")}[name]


def _breakdown(report, name):
    groups = getattr(report, name)
    detail = {"by_project": _("Project code"), "by_question": _("Dimension")}.get(name)
    headers = [_("Name")] + ([detail] if detail else []) + _score_headers() + _change_headers()
    rows = []
    for g in groups:
        extra = []
        if name == "by_project":
            extra = [g.detail]
        elif name == "by_question":
            extra = [_text(DIMENSION_LABELS, g.detail)]
        rows.append([group_name(name, g), *extra, *_score_values(g.figures), *_change_values(g.change)])
    return _breakdown_title(name), headers, rows


def _context_sheets(report):
    directions, types = setting_labels("problems.directions"), setting_labels("problems.types")
    yield (_("Rounds"), [_("Project code"), _("Project"), _("Project manager"), _("Invited"), _("Responded"),
                         _("Response rate")],
           [[r.project_code, r.project_name, r.pm, r.invited, r.responded, _pct(r.rate)] for r in report.rounds])
    cov = report.coverage
    yield (_("Coverage"), [_("Gap"), _("Project code"), _("Project"), _("Project manager"), _("Sales owner")],
           [[_("Active projects without a PM round"), p.code, p.name, p.pm, p.sales] for p in cov.without_round]
           + [[_("Projects without a sales inquiry after completion or a key milestone"), p.code, p.name, p.pm,
               p.sales or _("No sales owner")] for p in cov.without_inquiry])
    yield (_("Callbacks"), [_("Priority"), _("Closed tickets"), _("Calls required"), _("Reached"), _("Callback rate"),
                            _("Target"), _("Met")],
           [[c.priority, c.closed, c.required, c.reached, _pct(c.rate), Percent(c.target),
             _yes_no(c.met) if c.closed else _("No closed cases")] for c in report.callbacks])
    k = report.complaints
    yield (_("Complaints"), [_("Figure"), _("Value")],
           [[_("Registered"), k.registered], [_("Closed"), k.closed], [_("Still open"), k.open],
            [_("First contact within the limit"), k.first_contact_within],
            [_("First contact late"), k.first_contact_late],
            [_("First contact: share within"), _pct(k.first_contact_share)],
            [_("Resolution within the limit"), k.resolution_within], [_("Resolution late"), k.resolution_late],
            [_("Resolution: share within"), _pct(k.resolution_share)]])
    yield (_("Problems"), [_("Direction"), _("Type"), _("Count"), _("Example 1"), _("Example 2"), _("Example 3")],
           [[directions.get(p.direction, p.direction) if p.direction else _("Not classified"),
             types.get(p.problem_type, p.problem_type) if p.problem_type else _("Not classified"), p.count,
             *p.examples] for p in report.problems])
    f = report.followups
    yield (_("Follow-ups"), [_("Figure"), _("Value")],
           [[_("Opened in the period"), f.opened], [_("Closed (verified) in the period"), f.closed],
            [_("Overdue"), f.overdue], [_("Escalated"), f.escalated],
            [_("Still open at the end of the period"), f.open_now]])
    from ...blueprints.improvement.labels import PLAN_STATE_LABELS as plan_states
    yield (_("Improvement plans"), [_("Plan"), _("Department"), _("State"), _("Due")],
           [[p.title, p.department, _text(plan_states, p.state), p.due_on] for p in report.plans])
    yield (_("Suggestions"), [_("Project code"), _("Suggestion")],
           [[s.project_code, s.text] for s in report.suggestions])
    yield (_("Trend"), [_("Quarter"), _("Source"), _("Responses"), _("Score (1–5)"), _("Score: interval low (95%)"),
                        _("Score: interval high (95%)"), _("Satisfaction rate"), _("Rate: interval low (95%)"), _("Rate: interval high (95%)")],
           [[p.quarter, _text(TREND_SOURCE_LABELS, p.source), p.responses, p.score, p.score_low, p.score_high,
             _pct(p.satisfaction_rate), _pct(p.rate_low), _pct(p.rate_high)] for p in report.trend])


def answer_rows(report):
    """Every answer of the forms the period counts, streamed: (response id, submitted (local),
    project code, channel, status, survey kind, question code, raw value, normalised, N/A)."""
    selection = selection_for(parse_period(report.period.key), report.include_pending)
    statement = (
        select(Response.id, Response.submitted_at, Project.code, Response.channel,
                  Response.verification_status, Template.kind, Question.code, Answer.raw_value,
                  Answer.text_value, Answer.normalized, Answer.is_na)
        .select_from(Answer).join(Response, Response.id == Answer.response_id)
        .join(Project, Project.id == Response.project_id)
        .join(Question, Question.id == Answer.question_id)
        .join(TemplateVersion, TemplateVersion.id == Response.template_version_id)
        .join(Template, Template.id == TemplateVersion.template_id)
        .where(selection.current())
        .order_by(Response.id, Question.position, Answer.id)
        .execution_options(stream_results=True, yield_per=STREAM_ROWS))
    zone = portal_zone()
    for rid, submitted, code, channel, status, kind, question, raw, text, normalized, na in db.session.execute(
            statement):
        local = submitted.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None) if submitted else None
        yield [rid, local, code, _text(CHANNEL_LABELS, channel), _text(VERIFICATION_LABELS, status),
               _text(TEMPLATE_KIND_LABELS, kind), question, raw if raw is not None else text, normalized,
               _yes_no(na)]


def rollup_workbook(report) -> bytes:
    """The report's tables and its answers as XLSX bytes (in the current locale)."""
    sheets = [_summary(report)]
    sheets += [_breakdown(report, name) for name in BREAKDOWNS]
    sheets += list(_context_sheets(report))
    sheets.append((_("Answers"), [_("Response"), _("Submitted"), _("Project code"), _("Channel"), _("Status"),
                                  _("Survey kind"), _("Question"), _("Raw value"), _("Normalised (1–5)"),
                                  _("Not applicable")], answer_rows(report)))
    return write_xlsx_streaming(sheets)
