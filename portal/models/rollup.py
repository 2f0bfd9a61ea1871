"""The quarterly rollup's lasting records (DESIGN §4.5): published revisions with their frozen
figures, the recipients who acknowledge them, the yearly measurement plan (versioned like a
template) and the results of past quarters imported so trends have history from day one."""
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

#: review: the PMO director and the VP review the report; action: a department acts on it
RECIPIENT_PURPOSES = ("review", "action")
#: a historical result for the whole form rather than one dimension
OVERALL = "overall"


class RollupRevision(db.Model):
    """A quarter's published figures, stored as they were computed (never recomputed): a later
    change to the data never alters it; a re-publication is a new revision with its reason."""
    __tablename__ = "rollup_revisions"
    __table_args__ = (UniqueConstraint("quarter", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    number: Mapped[int]                                   # 1, 2, … within the quarter
    reason: Mapped[str | None] = mapped_column(Text)      # required from the second revision on
    figures: Mapped[dict] = mapped_column(JSON)           # the rollup, serialised (services.rollup.frozen)
    measurement_plan_id: Mapped[int | None] = mapped_column(ForeignKey("measurement_plans.id"))
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    published_by = relationship("User")
    measurement_plan = relationship("MeasurementPlan")
    recipients: Mapped[list["ReportRecipient"]] = relationship(
        back_populates="revision", cascade="all, delete-orphan", order_by="ReportRecipient.id")


class ReportRecipient(db.Model):
    """Who a published revision was sent to, and their acknowledgement (with a note)."""
    __tablename__ = "report_recipients"
    __table_args__ = (UniqueConstraint("revision_id", "user_id"), one_of("purpose", RECIPIENT_PURPOSES))
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("rollup_revisions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    acknowledged_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    revision: Mapped[RollupRevision] = relationship(back_populates="recipients")
    user = relationship("User")
    department = relationship("Department")


class MeasurementPlan(db.Model):
    """The year's measurement plan (quality): purpose, scope, the frequency of each survey kind,
    sampling rates and owners. Each save is a new version; a report cites the version it used."""
    __tablename__ = "measurement_plans"
    __table_args__ = (UniqueConstraint("year", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    version: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    frequencies: Mapped[dict] = mapped_column(JSON)      # survey kind -> how often (text)
    sampling_rates: Mapped[dict] = mapped_column(JSON)   # P1…P4 -> share of closed cases called back
    owners: Mapped[dict] = mapped_column(JSON)           # survey kind -> owner (department or role)
    note: Mapped[str | None] = mapped_column(Text)       # what changed in this version
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by = relationship("User")


class HistoryImport(db.Model):
    """One imported file of past quarters' results: all its rows or none."""
    __tablename__ = "history_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    imported_by = relationship("User")
    results: Mapped[list["HistoricalResult"]] = relationship(back_populates="source", passive_deletes=True)


class HistoricalResult(db.Model):
    """A past quarter's result for a project and a dimension (OVERALL: the whole form), as the
    previous system reported it; trends show it labelled as imported."""
    __tablename__ = "historical_results"
    __table_args__ = (UniqueConstraint("quarter", "project_id", "dimension"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    dimension: Mapped[str] = mapped_column(String(32))        # a dimension code, or OVERALL
    responses: Mapped[int]
    score: Mapped[float] = mapped_column(Float)               # mean on 1–5
    satisfaction_rate: Mapped[float | None] = mapped_column(Float)  # share in [0, 1]
    import_id: Mapped[int] = mapped_column(ForeignKey("history_imports.id", ondelete="CASCADE"), index=True)

    project = relationship("Project")
    source: Mapped[HistoryImport] = relationship(back_populates="results")
