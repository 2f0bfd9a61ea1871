"""Background jobs (imports now; report PDFs and bulk sending later): who started one, its
state and progress, and its result or error. The queue itself is Huey's (portal.jobs)."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (one_of("state", JOB_STATES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(default=0)       # rows (or steps) done ...
    total: Mapped[int | None]                          # ... of this many, when known
    stage: Mapped[str | None] = mapped_column(String(40))  # what it is doing now (reading, writing ...)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    #: the last sign of life: a running job silent for long has died (killed worker)
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    started_by = relationship("User")
