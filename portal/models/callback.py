"""The callback desk (DESIGN §4.3): the quarter's random draws per priority, the calls drawn
(each a task for an agent), every attempt, and the callback form a reached call produces."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow
from .case import PRIORITIES

#: open: still to be reached; reached: the form is in; failed: unreachable after the allowed
#: attempts, refused or a wrong number, so a replacement was drawn
TASK_STATES = ("open", "reached", "failed")
#: ticket: a drawn closed ticket's reporter; relationship: a key account's scheduled call
TASK_KINDS = ("ticket", "relationship")
ATTEMPT_OUTCOMES = ("reached", "no_answer", "busy", "wrong_number", "refused")


class CallbackDraw(db.Model):
    """One draw for a quarter and priority: its seed makes the order of the cases reproducible;
    later draws of the same quarter (top-ups, replacements) reuse the quarter's first seed."""
    __tablename__ = "callback_draws"
    __table_args__ = (one_of("priority", PRIORITIES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    priority: Mapped[str] = mapped_column(String(2))
    seed: Mapped[int]
    rate: Mapped[float]
    closed: Mapped[int]       # closed cases of the quarter and priority at the time of the draw
    required: Mapped[int]     # ⌈rate × closed⌉
    added: Mapped[int]        # tasks this draw added
    reason: Mapped[str] = mapped_column(String(16))  # first | top_up | replacement
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackTask(db.Model):
    """A call for the quality desk: a drawn ticket's reporter (kind ``ticket``: case, draw,
    priority and rank), or a key account's scheduled relationship call (kind ``relationship``:
    the account, the scheduled date and the day it is due, independent of tickets)."""
    __tablename__ = "callback_tasks"
    __table_args__ = (
        one_of("state", TASK_STATES), one_of("priority", PRIORITIES), one_of("kind", TASK_KINDS),
        UniqueConstraint("case_id", name="uq_callback_tasks_case_id"),  # a case is drawn once
        # a scheduled date of an account gets one call, whoever runs the schedule how often
        UniqueConstraint("key_account_id", "scheduled_on", name="uq_callback_tasks_key_account_id_scheduled_on"),
        CheckConstraint("(kind = 'ticket' AND case_id IS NOT NULL AND draw_id IS NOT NULL AND priority IS NOT NULL"
                        " AND rank IS NOT NULL) OR (kind = 'relationship' AND key_account_id IS NOT NULL"
                        " AND scheduled_on IS NOT NULL AND due_on IS NOT NULL)", name="kind_fields"),
        Index("ix_callback_tasks_quarter_priority_state", "quarter", "priority", "state"),
        Index("ix_callback_tasks_assigned_to_id_state", "assigned_to_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="ticket", server_default="ticket")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("service_cases.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("callback_draws.id"), index=True)
    #: the project the call is about (a ticket's project, or the account's chosen one): scope and the form's
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(6))
    priority: Mapped[str | None] = mapped_column(String(2))
    #: the case's place in the seeded order of its quarter and priority (key accounts first)
    rank: Mapped[str | None] = mapped_column(String(80))
    # a relationship call: the account, the date the schedule named, the working day it is due,
    # and whom to call
    key_account_id: Mapped[int | None] = mapped_column(ForeignKey("key_accounts.id"), index=True)
    scheduled_on: Mapped[date | None]
    due_on: Mapped[date | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")
    attempts_count: Mapped[int] = mapped_column(default=0)
    #: unique: one callback form per task (services.responses.submit_response's origin)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), unique=True)
    failed_reason: Mapped[str | None] = mapped_column(String(16))  # the outcome that ended it
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    #: optimistic lock: two agents logging at once cannot both count
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    case = relationship("ServiceCase")
    draw = relationship("CallbackDraw")
    project = relationship("Project")
    key_account = relationship("KeyAccount")
    contact = relationship("Contact")
    assigned_to = relationship("User")
    response = relationship("Response")
    attempts: Mapped[list["CallAttempt"]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="CallAttempt.id")

    @property
    def answered(self) -> bool:
        """Its callback form is recorded (the origin protocol of submit_response)."""
        return self.response_id is not None or self.response is not None

    def attach_response(self, response, now):
        self.response = response


class CallAttempt(db.Model):
    __tablename__ = "call_attempts"
    __table_args__ = (one_of("outcome", ATTEMPT_OUTCOMES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)

    task: Mapped[CallbackTask] = relationship(back_populates="attempts")
    by = relationship("User")
