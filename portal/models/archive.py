"""The three-year archive's lasting records (DESIGN §4.6): hand-overs of a published quarter's
forms to the archive role (and its receipt), legal holds with their history, and disposals in
batches with one tombstone per disposed form — the content goes, the fact of it stays."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class ArchiveHandover(db.Model):
    """PMO hands a published quarter's forms to the archive (one action; a later one hands over
    forms entered since); the archive role confirms receipt. The forms' PDFs are rendered by a job."""
    __tablename__ = "archive_handovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("rollup_revisions.id"))  # the publication it follows
    responses: Mapped[int]                                                        # forms handed over
    handed_over_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    handed_over_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))              # the PDF rendering
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    receipt_note: Mapped[str | None] = mapped_column(Text)

    revision = relationship("RollupRevision")
    handed_over_by = relationship("User", foreign_keys=[handed_over_by_id])
    received_by = relationship("User", foreign_keys=[received_by_id])
    job = relationship("Job")


class LegalHold(db.Model):
    """A legal hold on one archived form: blocks its disposal whatever the date until lifted;
    placing and lifting are both kept (who, when, why)."""
    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)

    placed_by = relationship("User", foreign_keys=[placed_by_id])
    lifted_by = relationship("User", foreign_keys=[lifted_by_id])


class Disposal(db.Model):
    """One deliberate disposal batch of the archive role."""
    __tablename__ = "disposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    disposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    disposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    records: Mapped[int]

    disposed_by = relationship("User")
    tombstones: Mapped[list["Tombstone"]] = relationship(back_populates="disposal", order_by="Tombstone.response_id")


class Tombstone(db.Model):
    """What stays of a disposed form: its id, quarter, project, channel and dates, who disposed
    of it and why, and the checksum its archived PDF had. No answer, comment or personal data."""
    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(primary_key=True)
    disposal_id: Mapped[int] = mapped_column(ForeignKey("disposals.id"), index=True)
    response_id: Mapped[int] = mapped_column(unique=True)  # the form's id (its row keeps no content)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    channel: Mapped[str] = mapped_column(String(12))
    submitted_at: Mapped[datetime]
    archived_at: Mapped[datetime]
    retain_until: Mapped[datetime]
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    disposal: Mapped[Disposal] = relationship(back_populates="tombstones")
    project = relationship("Project")
