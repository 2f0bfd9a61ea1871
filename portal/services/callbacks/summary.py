"""The callback summary of a quarter (DESIGN §4.3.4): per priority, the closed cases, the calls
the rate requires, drawn and reached, and whether the rate was met; and every called case with
its ticket columns beside the outcome of its last attempt and the callback form's score.

Plain frozen dataclasses from two aggregate queries (closed cases and tasks per priority), the
settings and one joined query for the cases; required calls follow the sampling's
``required_for`` (⌈rate × closed⌉, exactly). The page, the PDF (``services.pdf.callback_summary``)
and the XLSX (``callback_summary_xlsx``) all render from them. Only ticket calls count: a key
account's relationship calls (no priority, no case) are no part of any rate.
"""
from dataclasses import dataclass
from datetime import date
from typing import Optional

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from ...extensions import db
from ...labels import ATTEMPT_OUTCOME_LABELS as CALL_OUTCOME_LABELS
from ...labels import TASK_STATE_LABELS as CALLBACK_STATE_LABELS
from ...models import PRIORITIES, CallAttempt, CallbackTask, Client, Project, Response, ServiceCase
from ..quarters import local_date, parse_quarter
from ..xlsx import Percent, write_xlsx
from .sampling import rates, required_for

#: how the case table orders the states within a priority: the calls that count first
STATE_ORDER = ("reached", "open", "failed")

TOTAL = "total"


@dataclass(frozen=True)
class PriorityRow:
    priority: str                    # P1…P4, or TOTAL for the totals row
    target_rate: Optional[float]     # the setting; None on the totals row
    closed: int                      # closed cases of the quarter
    required: int                    # ⌈target_rate × closed⌉ (all of them when fewer)
    drawn: int                       # tasks drawn: open + reached + failed
    reached: int                     # tasks whose callback form is recorded
    achieved_rate: Optional[float]   # reached / closed; None without closed cases
    shortfall: int                   # calls still missing to meet the rate
    met: bool                        # reached ≥ required


@dataclass(frozen=True)
class CaseRow:
    task_id: int
    external_id: str
    project_code: str
    project_name: str
    client: str
    priority: str
    reporter: str
    closed_at: str                   # the local date the case was closed, YYYY-MM-DD
    engineer: str
    state: str                       # open | reached | failed
    outcome: Optional[str]           # the last attempt's outcome, None before the first call
    attempts: int                    # attempts logged
    score: Optional[float]           # the callback form's score (1–5)
    response_id: Optional[int]


@dataclass(frozen=True)
class CallbackSummary:
    quarter: str
    priorities: tuple                # PriorityRow per P1…P4
    totals: PriorityRow
    cases: tuple                     # CaseRow per called case


def _priority_row(priority, rate, closed, states) -> PriorityRow:
    required = required_for(rate, closed)
    reached = states.get("reached", 0)
    return PriorityRow(priority=priority, target_rate=rate, closed=closed, required=required,
                       drawn=sum(states.values()), reached=reached,
                       achieved_rate=reached / closed if closed else None,
                       shortfall=max(0, required - reached), met=reached >= required)


def _totals(rows) -> PriorityRow:
    """The quarter's sums; its shortfall adds the priorities' (one's surplus covers no other)."""
    closed, reached = sum(r.closed for r in rows), sum(r.reached for r in rows)
    return PriorityRow(priority=TOTAL, target_rate=None, closed=closed,
                       required=sum(r.required for r in rows), drawn=sum(r.drawn for r in rows),
                       reached=reached, achieved_rate=reached / closed if closed else None,
                       shortfall=sum(r.shortfall for r in rows), met=all(r.met for r in rows))


def _case_rows(quarter) -> tuple:
    ranked = (select(CallAttempt.task_id, CallAttempt.outcome,
                     func.row_number().over(partition_by=CallAttempt.task_id,
                                            order_by=(CallAttempt.at.desc(), CallAttempt.id.desc()))
                     .label("position"),
                     func.count().over(partition_by=CallAttempt.task_id).label("attempts"))
              .join(CallbackTask, CallbackTask.id == CallAttempt.task_id)
              .where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket")
              .subquery("ranked_attempts"))
    last = select(ranked.c.task_id, ranked.c.outcome, ranked.c.attempts) \
        .where(ranked.c.position == 1).subquery("last_attempt")
    state_order = case({state: i for i, state in enumerate(STATE_ORDER)}, value=CallbackTask.state)
    rows = db.session.execute(
        select(CallbackTask.id, ServiceCase.external_id, Project.code, Project.name, Client.name,
               CallbackTask.priority, ServiceCase.reporter, ServiceCase.closed_at, ServiceCase.engineer,
               CallbackTask.state, last.c.outcome, last.c.attempts, Response.score, CallbackTask.response_id)
        .join(ServiceCase, ServiceCase.id == CallbackTask.case_id)
        .join(Project, Project.id == ServiceCase.project_id)
        .join(Client, Client.id == Project.client_id)
        .outerjoin(Response, Response.id == CallbackTask.response_id)
        .outerjoin(last, last.c.task_id == CallbackTask.id)
        .where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket")
        .order_by(CallbackTask.priority, state_order, ServiceCase.closed_at, ServiceCase.external_id))
    return tuple(
        CaseRow(task_id=task_id, external_id=external_id, project_code=code, project_name=name,
                client=client, priority=priority, reporter=reporter,
                closed_at=local_date(closed_at).isoformat(), engineer=engineer or "", state=state,
                outcome=outcome, attempts=attempts or 0, score=score, response_id=response_id)
        for (task_id, external_id, code, name, client, priority, reporter, closed_at, engineer, state,
             outcome, attempts, score, response_id) in rows)


def callback_summary(quarter: str) -> CallbackSummary:
    """The summary of ``quarter`` ('2026Q4'; ValueError for anything else) as plain data."""
    parse_quarter(quarter)
    closed = dict(db.session.execute(
        select(ServiceCase.priority, func.count(ServiceCase.id))
        .where(ServiceCase.quarter == quarter).group_by(ServiceCase.priority)).all())
    states = {}
    for priority, state, count in db.session.execute(
            select(CallbackTask.priority, CallbackTask.state, func.count(CallbackTask.id))
            .where(CallbackTask.quarter == quarter, CallbackTask.kind == "ticket")
            .group_by(CallbackTask.priority, CallbackTask.state)):
        states.setdefault(priority, {})[state] = count
    targets = rates()
    rows = tuple(_priority_row(p, targets[p], closed.get(p, 0), states.get(p, {})) for p in PRIORITIES)
    return CallbackSummary(quarter=quarter, priorities=rows, totals=_totals(rows),
                           cases=_case_rows(quarter))


def summary_quarters() -> list:
    """Quarters that have imported cases, newest first."""
    from ..cases.catalog import case_quarters
    return case_quarters()


# --- the XLSX -------------------------------------------------------------------------------

def callback_summary_xlsx(summary: CallbackSummary) -> bytes:
    """The summary as a workbook: a sheet per priority, a sheet of the called cases; labels in the
    current locale (callers wanting the archive's Chinese wrap it in ``force_locale("zh")``)."""
    yes, no = _("Yes"), _("No")
    priority_headers = [_("Priority"), _("Target rate"), _("Closed cases"), _("Required calls"),
                        _("Calls drawn"), _("Calls reached"), _("Achieved rate"), _("Shortfall"), _("Rate met")]
    priority_rows = [
        [r.priority if r.priority != TOTAL else _("Total"),
         Percent(r.target_rate) if r.target_rate is not None else None, r.closed, r.required, r.drawn,
         r.reached, Percent(r.achieved_rate) if r.achieved_rate is not None else None, r.shortfall,
         yes if r.met else no]
        for r in (*summary.priorities, summary.totals)]
    case_headers = [_("Ticket no."), _("Project code"), _("Project"), _("Client"), _("Priority"),
                    _("Reporter"), _("Closed on"), _("Engineer"), _("Callback state"), _("Last outcome"),
                    _("Attempts"), _("Score (1–5)")]
    case_rows = [
        [c.external_id, c.project_code, c.project_name, c.client, c.priority, c.reporter,
         date.fromisoformat(c.closed_at), c.engineer, str(CALLBACK_STATE_LABELS.get(c.state, c.state)),
         str(CALL_OUTCOME_LABELS.get(c.outcome, c.outcome)) if c.outcome else "", c.attempts,
         round(c.score, 2) if c.score is not None else None]
        for c in summary.cases]
    return write_xlsx([
        (_("Per priority %(quarter)s", quarter=summary.quarter), priority_headers, priority_rows),
        (_("Called cases %(quarter)s", quarter=summary.quarter), case_headers, case_rows),
    ])
