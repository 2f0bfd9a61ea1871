"""The imported history as the rollup's trend and the pages read it, aggregated in SQL.

A quarter's imported figure is computed from the per-project rows the file gave: responses add
up, the score is the mean of the projects' scores weighted by their responses, and the
satisfaction rate likewise over the rows that have one (None when none has). The rows keep the
previous system's own method; the trend shows them labelled as imported.
"""
import json
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import AuditEvent, HistoricalResult, HistoryImport
from ...models.rollup import OVERALL
from ..listing import paginate


@dataclass(frozen=True)
class ImportedQuarter:
    """A quarter's imported result (for the whole form unless said otherwise)."""
    quarter: str
    responses: int
    score: float
    satisfaction_rate: float | None
    imported: bool = True  # always: what the trend labels "imported"


def _weighted(quarters, dimension, by_project):
    weight = HistoricalResult.responses
    has_rate = HistoricalResult.satisfaction_rate.isnot(None)
    keys = [HistoricalResult.quarter, *([HistoricalResult.project_id] if by_project else [])]
    query = (select(*keys, func.sum(weight),
                    func.sum(HistoricalResult.score * weight) / func.sum(weight),
                    func.sum(case((has_rate, HistoricalResult.satisfaction_rate * weight)))
                    / func.nullif(func.sum(case((has_rate, weight), else_=0)), 0))
             .where(HistoricalResult.dimension == dimension)
             .group_by(*keys))
    if quarters is not None:
        query = query.where(HistoricalResult.quarter.in_(list(quarters)))
    return db.session.execute(query).all()


def _quarter(quarter, responses, score, rate):
    return ImportedQuarter(quarter, int(responses), float(score), None if rate is None else float(rate))


def imported_overall(quarters=None, dimension=OVERALL) -> dict[str, ImportedQuarter]:
    """{quarter: ImportedQuarter} over the imported whole-form rows of ``quarters`` (None: all),
    one GROUP BY; a quarter without imported rows is absent. ``dimension``: another dimension code."""
    return {row[0]: _quarter(row[0], *row[1:]) for row in _weighted(quarters, dimension, False)}


def imported_by_project(quarters=None, dimension=OVERALL) -> dict[tuple[str, int], ImportedQuarter]:
    """{(quarter, project_id): ImportedQuarter} of ``quarters`` (None: all), as imported_overall."""
    return {(row[0], row[1]): _quarter(row[0], *row[2:]) for row in _weighted(quarters, dimension, True)}


@dataclass(frozen=True)
class ImportedQuarterSummary:
    """An imported quarter on the history page: how many projects and rows, and its overall figure."""
    quarter: str
    projects: int
    rows: int
    overall: ImportedQuarter | None


def imported_quarters() -> list[ImportedQuarterSummary]:
    """Every quarter that has imported results, newest first."""
    counts = db.session.execute(
        select(HistoricalResult.quarter, func.count(func.distinct(HistoricalResult.project_id)),
               func.count(HistoricalResult.id))
        .group_by(HistoricalResult.quarter).order_by(HistoricalResult.quarter.desc())).all()
    overall = imported_overall([q for q, _p, _r in counts]) if counts else {}
    return [ImportedQuarterSummary(q, projects, rows, overall.get(q)) for q, projects, rows in counts]


def history_imports_page(*, page=1, per_page=50):
    """One page of the recorded imports, newest first."""
    return paginate(select(HistoryImport).options(joinedload(HistoryImport.imported_by))
                    .order_by(HistoryImport.id.desc()), page, per_page)


@dataclass(frozen=True)
class HeldQuarter:
    quarter: str
    projects: int
    rows: int


@dataclass(frozen=True)
class ImportReport:
    """One recorded import: what it did when it ran, and what of it is still current."""
    record: HistoryImport
    added: int | None
    replaced: int | None
    unchanged: int | None
    held: tuple          # (HeldQuarter, …): its rows no later import replaced
    replacements: tuple  # ({quarter, project, dimension, before, after}, …) it made

    @property
    def rows_held(self) -> int:
        return sum(q.rows for q in self.held)


def import_report(record: HistoryImport) -> ImportReport:
    """The import's outcome (from its audit event) and the rows it still holds, by quarter."""
    raw = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == "history_imported", AuditEvent.object_type == "HistoryImport",
        AuditEvent.object_id == str(record.id)).order_by(AuditEvent.id).limit(1))
    detail = json.loads(raw) if raw else {}
    held = db.session.execute(
        select(HistoricalResult.quarter, func.count(func.distinct(HistoricalResult.project_id)),
               func.count(HistoricalResult.id))
        .where(HistoricalResult.import_id == record.id)
        .group_by(HistoricalResult.quarter).order_by(HistoricalResult.quarter)).all()
    return ImportReport(record, detail.get("added"), detail.get("replaced"), detail.get("unchanged"),
                        tuple(HeldQuarter(*row) for row in held), tuple(detail.get("replacements") or ()))

