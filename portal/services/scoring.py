"""Scores (DESIGN §5): every quantitative answer on the 5-point scale, one method everywhere.

A labelled answer scores its option's 5-point value (by label: 满意 is satisfied, ≥ 4, on
every scale); a numeric answer maps linearly, norm = 1 + 4 × (raw − lo) / (hi − lo).
"Not applicable" is excluded, never 0.
For a group of responses: s_r = mean of r's normalized answers to the questions
in scope; score = mean of the s_r; satisfaction rate = share of s_r ≥ 4.
Nothing is rounded here; rounding is for display only.
"""
from dataclasses import dataclass
from typing import Iterable, Optional

TOP_TWO_BOX = 4.0
METHOD_NOTE = ("Each answer is converted to the 5-point scale: a labelled answer by its label "
               "(the value its option carries, so “satisfied” counts as satisfied on every "
               "scale), a numeric one linearly (norm = 1 + 4 × (raw − lo) / (hi − lo)); "
               "“not applicable” is left out. Each response's score is the mean of its answers; "
               "the score is the mean over responses and the satisfaction rate is the share of "
               "responses scoring 4 or more.")


def normalize(raw: float, lo: float, hi: float) -> float:
    """Map a raw value on [lo, hi] linearly onto [1, 5] (numeric scales; the default 5-point
    value of a new option that is not mapped by label)."""
    if hi == lo:
        raise ValueError("a scale needs two distinct end points")
    if not min(lo, hi) <= raw <= max(lo, hi):
        raise ValueError(f"{raw} is outside the scale {lo}–{hi}")
    return 1 + 4 * (raw - lo) / (hi - lo)


def mean_or_none(values: Iterable[Optional[float]]) -> Optional[float]:
    """Mean of the values that are not None (None answers are N/A or unscored)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def response_score(normalized_answers: Iterable[Optional[float]]) -> Optional[float]:
    """s_r: the mean of one response's normalized answers in scope; None if it has none."""
    return mean_or_none(normalized_answers)


@dataclass(frozen=True)
class ScoreSummary:
    responses: int            # responses with at least one answer in scope
    total: float              # policy total: 5×n1 + 4×n2 + … (sum of normalized values)
    score: Optional[float]    # mean on 1–5
    satisfaction_rate: Optional[float]  # share in [0, 1] of s_r ≥ 4


def summarize(response_scores: Iterable[Optional[float]]) -> ScoreSummary:
    """Score and satisfaction rate of a group from its per-response scores s_r."""
    scores = [s for s in response_scores if s is not None]
    if not scores:
        return ScoreSummary(0, 0.0, None, None)
    total = sum(scores)
    return ScoreSummary(len(scores), total, total / len(scores),
                        sum(1 for s in scores if s >= TOP_TWO_BOX) / len(scores))


def satisfaction_total(option_counts: Iterable[int]) -> int:
    """The policy's total for a five-label question: 5×n1 + 4×n2 + 3×n3 + 2×n4 + 1×n5,
    where n_k is how many chose the k-th option (best first)."""
    counts = list(option_counts)
    if len(counts) != 5:
        raise ValueError("the policy total is defined for five options")
    return sum((5 - k) * n for k, n in enumerate(counts))


def fmt_score(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2f}"


def fmt_rate(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
