"""Demo history (issue 13 §7): past quarters' results of the demo projects, as a previous system
would have reported them, written to an XLSX file and imported through the real import, so trends
have history from day one.

The figures are fixed by project, quarter and dimension (a seeded generator): scores between 3.6
and 4.6 that drift a little upwards over the quarters, 8 to 20 responses. A second run builds the
same file, so the import changes nothing."""
import random

from ..models import DIMENSIONS
from ..models.rollup import OVERALL
from ..services.history import import_history
from ..services.history.format import COLUMNS
from ..services.xlsx import write_xlsx

FILE_NAME = "历史满意度结果-演示.xlsx"


def history_rows(quarters, projects) -> list[tuple]:
    """One row per quarter, project and dimension (the whole form first), in the template's columns."""
    rows = []
    ordered = sorted(quarters)
    for project in projects:
        rng = random.Random(f"history:{project.code}")
        level = rng.uniform(3.7, 4.2)  # the project's own level ...
        for step, quarter in enumerate(ordered):
            quarterly = random.Random(f"history:{project.code}:{quarter}")
            responses = quarterly.randint(8, 20)
            base = level + 0.05 * step  # ... improving a little each quarter
            scores = {}
            for dimension in DIMENSIONS:
                if dimension != OVERALL:
                    scores[dimension] = _clamp(base + quarterly.uniform(-0.3, 0.3))
            scores[OVERALL] = _clamp(sum(scores.values()) / len(scores))
            for dimension in (OVERALL, *(d for d in DIMENSIONS if d != OVERALL)):
                score = scores[dimension]
                satisfied = round(responses * _clamp((score - 3.0) / 1.6, 0.0, 1.0))
                rows.append((quarter, project.code, dimension, responses, score, round(satisfied / responses, 4)))
    return rows


def _clamp(value, lo=3.6, hi=4.6):
    return round(min(hi, max(lo, value)), 2)


def history_workbook(quarters, projects) -> bytes:
    return write_xlsx([("历史结果", [c.header_zh for c in COLUMNS], history_rows(quarters, projects))])


def load_history(actor, quarters, projects) -> list[str]:
    """Import the demo history of ``quarters`` (past ones, e.g. 2025Q3..2026Q2) for ``projects``
    through the real import; returns summary lines. Flushes; the caller commits."""
    outcome = import_history(history_workbook(quarters, projects), FILE_NAME, actor)
    if not outcome.ok:
        first = outcome.errors[0]
        return [f"history: not imported (row {first['row']}: {first['message']})"]
    return [f"history: {len(outcome.quarters)} quarters × {len(projects)} projects "
            f"({outcome.added} new, {outcome.replaced} replaced, {outcome.unchanged} unchanged)"]
