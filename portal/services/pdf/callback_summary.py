"""The callback summary table of a quarter (DESIGN §7, §4.3.4): per priority whether the
callback rate was met, then every called case beside its outcome; landscape A4, always with
Chinese labels."""
from dataclasses import dataclass

from flask_babel import force_locale, format_date, gettext as _

from ..callbacks.summary import CALL_OUTCOME_LABELS, CALLBACK_STATE_LABELS, TOTAL, CallbackSummary
from ..quarters import local_today, quarter_bounds
from ..scoring import fmt_rate, fmt_score
from .filled_response import ARCHIVE_LOCALE
from .questionnaire import Document, PdfFile
from .render import render_pdf


@dataclass(frozen=True)
class PriorityLine:
    label: str
    total: bool
    target: str
    closed: int
    required: int
    drawn: int
    reached: int
    achieved: str
    below_target: bool          # the achieved rate is under the target
    shortfall: int
    met: bool
    met_label: str              # "no closed cases" when there was nothing to call


@dataclass(frozen=True)
class CaseLine:
    external_id: str
    project_code: str
    project_name: str
    client: str
    priority: str
    reporter: str
    closed_at: str
    engineer: str
    state: str
    state_label: str
    outcome: str
    attempts: int
    score: str


@dataclass(frozen=True)
class CallbackSummaryTable:
    doc: Document
    priorities: tuple           # PriorityLine per P1…P4, then the totals
    cases: tuple                # CaseLine
    all_met: bool


def _target(rate) -> str:
    return "–" if rate is None else f"{rate * 100:.4g}%"


def _priority_line(row) -> PriorityLine:
    total = row.priority == TOTAL
    below = (row.target_rate is not None and row.achieved_rate is not None
             and row.achieved_rate < row.target_rate)
    return PriorityLine(
        label=_("Total") if total else row.priority, total=total, target=_target(row.target_rate),
        closed=row.closed, required=row.required, drawn=row.drawn, reached=row.reached,
        achieved=fmt_rate(row.achieved_rate), below_target=below, shortfall=row.shortfall,
        met=row.met, met_label=_("No closed cases") if not row.closed
        else _("Met") if row.met else _("Not met"))


def _case_line(row) -> CaseLine:
    return CaseLine(
        external_id=row.external_id, project_code=row.project_code, project_name=row.project_name,
        client=row.client, priority=row.priority, reporter=row.reporter, closed_at=row.closed_at,
        engineer=row.engineer, state=row.state,
        state_label=str(CALLBACK_STATE_LABELS.get(row.state, row.state)),
        outcome=str(CALL_OUTCOME_LABELS.get(row.outcome, row.outcome)) if row.outcome else "–",
        attempts=row.attempts, score=fmt_score(row.score) if row.score is not None else "–")


def callback_summary_table(summary: CallbackSummary) -> CallbackSummaryTable:
    """``summary`` laid out for print: labels and figures as text in the current locale."""
    first, last = quarter_bounds(summary.quarter)
    day = "yyyy-MM-dd"
    details = (
        (_("Quarter"), summary.quarter),
        (_("Cases closed between"), f"{format_date(first, day)} – {format_date(last, day)}"),
        (_("Called cases"), str(len(summary.cases))),
        (_("Printed on"), format_date(local_today(), day)),
    )
    return CallbackSummaryTable(
        doc=Document(title=_("Callback summary"), subtitle=_("Quarter %(q)s", q=summary.quarter),
                     language=ARCHIVE_LOCALE, details=details,
                     reference=_("Quarter %(q)s", q=summary.quarter)),
        priorities=tuple(_priority_line(r) for r in (*summary.priorities, summary.totals)),
        cases=tuple(_case_line(c) for c in summary.cases),
        all_met=summary.totals.met)


def render_callback_summary(summary: CallbackSummary) -> PdfFile:
    """The summary table as PDF; its labels are Chinese whatever the reader's language."""
    with force_locale(ARCHIVE_LOCALE):
        table = callback_summary_table(summary)
        data = render_pdf("pdf/callback_summary.html", table=table, doc=table.doc)
    return PdfFile(f"callback-summary-{summary.quarter}.pdf", data)
