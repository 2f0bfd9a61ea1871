"""Confidence, so reviews are fair (issue 13 §3): a score's 95 % interval from the count, sum and
sum of squares the database returns (Student's t), a satisfaction rate's adjusted-Wald
(Agresti–Coull) interval, which behaves at small n and at 0 % or 100 %, whether a change against
the previous quarter is significant, and the standing of people whose intervals overlap."""
from math import sqrt
from typing import Optional

from ..scoring import TOP_TWO_BOX
from .figures import Change, Score

Z95 = 1.959963984540054
#: Student's t, 97.5th percentile, for 1…30 degrees of freedom (beyond: Cornish–Fisher)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)
#: a per-response score at or above this is "satisfied" (the float slack keeps a mean such as
#: (4.33… + 3.66…) / 2 that is 4 in exact arithmetic on the satisfied side, in SQL and in Python)
SATISFIED_FROM = TOP_TWO_BOX - 1e-9


def t975(df: int) -> float:
    if df < 1:
        raise ValueError("at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def variance(n: int, total: float, squares: float) -> Optional[float]:
    """The sample variance from n, Σx and Σx² (None below two values; never negative)."""
    if n < 2:
        return None
    var = (squares - total * total / n) / (n - 1)
    # Σx² − (Σx)²/n cancels: equal values leave a rounding residue, not a spread
    return 0.0 if var <= 1e-12 * max(1.0, (total / n) ** 2) else var


def mean_interval(n: int, total: float, squares: float, lo=1.0, hi=5.0):
    """(low, high) of the mean's 95 % interval, within the scale; (None, None) below two values."""
    var = variance(n, total, squares)
    if var is None:
        return None, None
    mean, half = total / n, t975(n - 1) * sqrt(var / n)
    return max(lo, mean - half), min(hi, mean + half)


def _adjusted(successes: int, n: int):
    n_adj = n + Z95 ** 2
    return (successes + Z95 ** 2 / 2) / n_adj, n_adj


def rate_interval(successes: int, n: int):
    """(low, high) of the Agresti–Coull 95 % interval of successes / n; (None, None) for n = 0."""
    if n <= 0:
        return None, None
    p, n_adj = _adjusted(successes, n)
    half = Z95 * sqrt(p * (1 - p) / n_adj)
    return max(0.0, p - half), min(1.0, p + half)


def confidence_of(n: int, low_n: int, too_few_n: int) -> str:
    if n < too_few_n:
        return "too_few"
    return "low" if n < low_n else "ok"


def score_of(n: int, total: float, squares: float, satisfied: int, *, low_n=20, too_few_n=5) -> Score:
    """A group's Score from its four sums (count, Σs, Σs², satisfied count)."""
    n, total, squares, satisfied = int(n or 0), float(total or 0.0), float(squares or 0.0), int(satisfied or 0)
    if n == 0:
        return Score(0, 0.0, None, None, None, 0, None, None, None, confidence_of(0, low_n, too_few_n))
    s_low, s_high = mean_interval(n, total, squares)
    r_low, r_high = rate_interval(satisfied, n)
    return Score(n, total, total / n, s_low, s_high, satisfied, satisfied / n, r_low, r_high,
                 confidence_of(n, low_n, too_few_n))


def change_between(current: tuple, previous: tuple) -> Optional[Change]:
    """The change of a group from ``previous`` to ``current``, each given as its four sums
    (n, Σs, Σs², satisfied); significant when the difference's 95 % interval excludes 0."""
    n1, t1, q1, k1 = current
    n0, t0, q0, k0 = previous
    if not n0:
        return None
    prev_score, prev_rate = t0 / n0, k0 / n0
    if not n1:
        return Change(n0, prev_score, prev_rate, None, None, False, False)
    score_delta, rate_delta = t1 / n1 - prev_score, k1 / n1 - prev_rate
    v1, v0 = variance(n1, t1, q1), variance(n0, t0, q0)
    score_sig = False
    if v1 is not None and v0 is not None:
        se = sqrt(v1 / n1 + v0 / n0)
        score_sig = abs(score_delta) > Z95 * se if se > 0 else score_delta != 0
    p1, m1 = _adjusted(k1, n1)
    p0, m0 = _adjusted(k0, n0)
    rate_se = sqrt(p1 * (1 - p1) / m1 + p0 * (1 - p0) / m0)
    rate_sig = abs(rate_delta) > Z95 * rate_se
    return Change(n0, prev_score, prev_rate, score_delta, rate_delta, score_sig, rate_sig)


def standings(groups, *, by="rate") -> list:
    """[(place, group)] best first: a group's place is 1 + the number of groups whose interval lies
    wholly above its own, so people whose intervals overlap share a place (shown as tied).
    Groups without a figure come last, unplaced (None)."""
    def bounds(g):
        f = g.figures
        return (f.rate_low, f.rate_high, f.satisfaction_rate) if by == "rate" else (f.score_low, f.score_high, f.score)
    placed = [g for g in groups if bounds(g)[2] is not None]
    rest = [g for g in groups if bounds(g)[2] is None]
    out = []
    for g in placed:
        low, high, value = bounds(g)
        top = high if high is not None else value
        above = sum(1 for o in placed if o is not g and
                    (bounds(o)[0] if bounds(o)[0] is not None else bounds(o)[2]) > top)
        out.append((1 + above, g))
    out.sort(key=lambda pg: (pg[0], -bounds(pg[1])[2], pg[1].label))
    return out + [(None, g) for g in rest]
