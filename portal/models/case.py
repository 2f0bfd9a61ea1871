"""Closed service tickets imported from the ticket system (DESIGN §2 "Service case", §4.3.1),
each import on the record, and the column mappings saved for later imports."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

PRIORITIES = ("P1", "P2", "P3", "P4")
IMPORT_STATES = ("imported", "rejected", "failed")


class ServiceCase(db.Model):
    __tablename__ = "service_cases"
    __table_args__ = (
        one_of("priority", PRIORITIES),
        # sampling reads a quarter's closed cases per priority
        Index("ix_service_cases_quarter_priority", "quarter", "priority"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the ticket system's id; unique: importing a case again updates it, never duplicates it
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    priority: Mapped[str] = mapped_column(String(2))
    reporter: Mapped[str] = mapped_column(String(120))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime]
    #: the calendar quarter (local time) the case was closed in: the quarter whose rate it counts for
    quarter: Mapped[str] = mapped_column(String(6))
    summary: Mapped[str | None] = mapped_column(Text)
    engineer: Mapped[str | None] = mapped_column(String(120))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("case_imports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]

    project = relationship("Project")

    def __repr__(self):
        return f"<ServiceCase {self.external_id} {self.priority}>"


class CaseImport(db.Model):
    """One file imported (or refused): who, when, which file, and what it did row by row."""
    __tablename__ = "case_imports"
    __table_args__ = (one_of("state", IMPORT_STATES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(12))
    encoding: Mapped[str | None] = mapped_column(String(20))   # what the file was read as (CSV)
    sheet: Mapped[str | None] = mapped_column(String(120))     # the sheet read (XLSX)
    mapping: Mapped[dict] = mapped_column(JSON)                # field -> column header used
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_added: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    #: the first errors found, [{row, column, value, message}] (the whole list is the error CSV)
    errors: Mapped[list | None] = mapped_column(JSON)

    imported_by = relationship("User")


class ImportMapping(db.Model):
    """A column mapping saved by name: field -> the file's column header."""
    __tablename__ = "import_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    columns: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
