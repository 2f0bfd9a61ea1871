"""What a rollup returns: plain frozen dataclasses that the page, the PDF, the XLSX, the JSON and
a published revision all render from. ``freeze`` turns one into JSON-able data and ``thaw`` turns
that back into the same dataclasses, so a published revision renders exactly like a fresh one
(its numbers are the stored ones, never recomputed)."""
import dataclasses
import typing
from dataclasses import dataclass
from typing import Optional

#: a group's confidence (settings ``rollup.low_confidence_n`` and ``rollup.too_few_n``)
CONFIDENCE = ("ok", "low", "too_few")


@dataclass(frozen=True)
class Score:
    """A group's figures by DESIGN §5's one method: n responses (answers, for one question), the
    policy's satisfaction total (the sum of the s_r), the score (mean of the s_r) with its 95 %
    interval, and the satisfaction rate (share of s_r ≥ 4) with its Agresti–Coull interval."""
    responses: int
    total: float
    score: Optional[float]
    score_low: Optional[float]
    score_high: Optional[float]
    satisfied: int
    satisfaction_rate: Optional[float]
    rate_low: Optional[float]
    rate_high: Optional[float]
    confidence: str                  # one of CONFIDENCE


@dataclass(frozen=True)
class Change:
    """A group against the previous quarter: the differences and whether each is significant
    (its 95 % interval excludes 0)."""
    previous_responses: int
    previous_score: Optional[float]
    previous_rate: Optional[float]
    score_delta: Optional[float]
    rate_delta: Optional[float]
    score_significant: bool
    rate_significant: bool


@dataclass(frozen=True)
class Group:
    """One row of a breakdown: ``key`` identifies it (an id or a code), ``label`` names it,
    ``detail`` adds what the row needs beside its name (a project's code, a question's dimension)."""
    key: str
    label: str
    figures: Score
    detail: str = ""
    change: Optional[Change] = None


@dataclass(frozen=True)
class PeriodInfo:
    kind: str                        # quarter | month | half | year | range
    key: str                         # 2026Q4, 2026-11, 2026H2, 2026, 2026-10-01..2026-10-31
    first_day: str                   # ISO dates, inclusive
    last_day: str
    quarters: tuple                  # the quarters it covers wholly or in part


@dataclass(frozen=True)
class Excluded:
    """What the figures leave out, stated on every report (DESIGN §5)."""
    rejected: int                    # forms rejected by verification
    pending: int                     # forms not verified yet (left out unless previewing with them)
    not_applicable: int              # "not applicable" answers
    unscored: int                    # counted forms with no scored answer at all


@dataclass(frozen=True)
class RoundRate:
    round_id: int
    project_code: str
    project_name: str
    pm: str
    invited: int
    responded: int
    rate: Optional[float]


@dataclass(frozen=True)
class ProjectRef:
    project_id: int
    code: str
    name: str
    pm: str
    sales: str


@dataclass(frozen=True)
class Coverage:
    active_projects: int
    without_round: tuple             # ProjectRef: active projects with no PM round in a quarter of the period
    without_inquiry: tuple           # ProjectRef: projects with no sales inquiry after completion or a milestone


@dataclass(frozen=True)
class CallbackRate:
    priority: str
    closed: int
    required: int
    reached: int
    rate: Optional[float]            # reached / closed
    target: float
    met: bool


@dataclass(frozen=True)
class ComplaintFigures:
    registered: int
    closed: int
    open: int
    first_contact_within: int
    first_contact_late: int
    first_contact_share: Optional[float]
    resolution_within: int
    resolution_late: int
    resolution_share: Optional[float]


@dataclass(frozen=True)
class ProblemCount:
    direction: str                   # a code of the settings' list, "" when unclassified
    problem_type: str
    count: int
    examples: tuple                  # up to three short texts (str)


@dataclass(frozen=True)
class FollowupFigures:
    opened: int
    closed: int
    overdue: int
    escalated: int
    open_now: int


@dataclass(frozen=True)
class PlanRef:
    plan_id: int
    title: str
    state: str
    department: str
    due_on: str


@dataclass(frozen=True)
class Suggestion:
    project_code: str
    text: str


@dataclass(frozen=True)
class TrendPoint:
    quarter: str
    source: str                      # portal | imported | published
    responses: int
    score: Optional[float]
    score_low: Optional[float]
    score_high: Optional[float]
    satisfaction_rate: Optional[float]
    rate_low: Optional[float]
    rate_high: Optional[float]


@dataclass(frozen=True)
class PlanCitation:
    plan_id: int
    year: int
    version: int


@dataclass(frozen=True)
class Rollup:
    period: PeriodInfo
    computed_at: str                 # ISO UTC
    include_pending: bool            # a preview that counts the forms not verified yet
    method: str
    overall: Score
    change: Optional[Change]         # overall against the previous quarter (quarters only)
    excluded: Excluded
    by_question: tuple               # Group, key "kind:code", detail the dimension
    by_dimension: tuple
    by_project: tuple                # key project id, detail project code
    by_pm: tuple                     # key user id
    by_sales: tuple
    by_client: tuple
    by_key_account: tuple            # key-account clients only
    key_accounts: Score              # all key-account clients together
    by_channel: tuple
    by_kind: tuple                   # survey kind (PM questionnaire, sales visit, callback, complaint check)
    by_engineer: tuple               # the case's engineer, for callback forms
    by_department: tuple             # the PM's departments
    rounds: tuple                    # RoundRate
    invited: int
    responded: int
    coverage: Coverage
    callbacks: tuple                 # CallbackRate per priority
    complaints: ComplaintFigures
    problems: tuple                  # ProblemCount
    followups: FollowupFigures
    plans: tuple                     # PlanRef: improvement plans open or closed in the period
    suggestions: tuple               # Suggestion: the clients' own words, newest first
    trend: tuple                     # TrendPoint, oldest first, ending with this period
    plan: Optional[PlanCitation]     # the measurement plan it measured against

    BREAKDOWNS = ("by_question", "by_dimension", "by_project", "by_pm", "by_sales", "by_client",
                  "by_key_account", "by_channel", "by_kind", "by_engineer", "by_department")


@dataclass(frozen=True)
class Summary:
    """The part of a Rollup the quarter close page shows (services.rollup.service.summary)."""
    overall: Score
    excluded: Excluded
    by_project: tuple


def freeze(value):
    """A dataclass tree as JSON-able data (dicts, lists, numbers, strings)."""
    if dataclasses.is_dataclass(value):
        return {f.name: freeze(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [freeze(v) for v in value]
    return value


#: what a tuple field holds, for ``thaw``
_ITEMS = {
    (Rollup, "rounds"): RoundRate, (Rollup, "callbacks"): CallbackRate, (Rollup, "problems"): ProblemCount,
    (Rollup, "plans"): PlanRef, (Rollup, "suggestions"): Suggestion, (Rollup, "trend"): TrendPoint,
    (Coverage, "without_round"): ProjectRef, (Coverage, "without_inquiry"): ProjectRef,
    **{(Rollup, name): Group for name in Rollup.BREAKDOWNS},
}


def thaw(cls, data):
    """The dataclass ``cls`` back from ``freeze``'s data."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue  # a field added after the revision was stored keeps its default
        raw = data[f.name]
        item = _ITEMS.get((cls, f.name))
        kind = hints[f.name]
        if typing.get_origin(kind) is typing.Union:
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if item is not None:
            values[f.name] = tuple(thaw(item, v) for v in raw)
        elif raw is not None and dataclasses.is_dataclass(kind):
            values[f.name] = thaw(kind, raw)
        elif isinstance(raw, list):
            values[f.name] = tuple(raw)
        else:
            values[f.name] = raw
    return cls(**values)
