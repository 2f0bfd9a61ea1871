"""The closed loop on a response that raised an opinion or a low score (DESIGN §4.4), and its
timeline. Every change goes through services.followups.apply, which writes a FollowUpEvent."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

FOLLOWUP_STATES = ("open", "contacted", "escalated", "answered", "resolved", "closed", "reopened")
#: how the PM reached the client again
CONTACT_MODES = ("phone", "visit", "email", "message")


class FollowUp(db.Model):
    __tablename__ = "followups"
    __table_args__ = (
        one_of("state", FOLLOWUP_STATES), one_of("contact_how", CONTACT_MODES),
        # the lists and home counts: a PM's items by state, everybody's by state and due date
        Index("ix_followups_owner_id_state", "owner_id", "state"),
        Index("ix_followups_state_due_on", "state", "due_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique: one follow-up per response, whatever fires the hook twice
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the project's PM at opening
    state: Mapped[str] = mapped_column(String(12), default="open")
    direction: Mapped[str | None] = mapped_column(String(32))  # codes of the settings lists (§6)
    problem_type: Mapped[str | None] = mapped_column(String(32))
    #: the answers that opened it: [{reason, code, question, answer, normalized}]
    triggers: Mapped[list] = mapped_column(JSON)
    due_on: Mapped[date | None]
    #: the year whose working-day calendar was missing when the due date was computed
    due_calendar_missing: Mapped[int | None]
    contacted_at: Mapped[datetime | None]
    contact_how: Mapped[str | None] = mapped_column(String(12))
    contact_note: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    corrective_action: Mapped[str | None] = mapped_column(Text)
    preventive_action: Mapped[str | None] = mapped_column(Text)
    #: the department it was routed to for action (DESIGN §2): its head and members see it in their queue
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalation_answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    #: the day the overdue reminder last went out (flask notify-overdue sends once a day)
    overdue_notified_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: optimistic lock: every UPDATE checks and bumps it (a stale write raises StaleDataError)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    response = relationship("Response")
    project = relationship("Project")
    owner = relationship("User", foreign_keys=[owner_id])
    escalated_to = relationship("User", foreign_keys=[escalated_to_id])
    department = relationship("Department")
    answered_by = relationship("User", foreign_keys=[answered_by_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])
    events: Mapped[list["FollowUpEvent"]] = relationship(
        back_populates="followup", cascade="all, delete-orphan", order_by="FollowUpEvent.id")

    def __repr__(self):
        return f"<FollowUp {self.id} {self.state}>"


class FollowUpEvent(db.Model):
    """One step on a follow-up's timeline: who did what, from which state to which."""
    __tablename__ = "followup_events"
    __table_args__ = (one_of("from_state", FOLLOWUP_STATES), one_of("to_state", FOLLOWUP_STATES))
    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)

    followup: Mapped[FollowUp] = relationship(back_populates="events")
    actor = relationship("User")
