"""Improvement plans (DESIGN §4.8): follow-ups and complaints with a common cause grouped under
a goal and measures, owned by a department; closed only once a check found the effect, each
check falling due a set number of days after the measures were done."""
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

#: internal: management, operations, service; external: market, regulation, environment
ROOT_CAUSES = ("management", "operations", "service", "market", "regulation", "environment")
INTERNAL_CAUSES = ("management", "operations", "service")
#: open: measures under way; measures_done: checks falling due; closed: a check found it effective
PLAN_STATES = ("open", "measures_done", "closed")
CHECK_RESULTS = ("effective", "not_effective")


class ImprovementPlan(db.Model):
    __tablename__ = "improvement_plans"
    __table_args__ = (one_of("state", PLAN_STATES), one_of("root_cause", ROOT_CAUSES))
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(String(16))
    #: the score dimension the plan means to lift (for the before/after comparison), if one
    dimension: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    responsible_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(16), default="open")
    #: how many times the measures were revised after a check found no effect
    revision: Mapped[int] = mapped_column(default=0)
    measures_done_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: optimistic lock, as on follow-ups and complaints
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    department = relationship("Department")
    responsible = relationship("User", foreign_keys=[responsible_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    items: Mapped[list["ImprovementPlanItem"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="ImprovementPlanItem.id")
    checks: Mapped[list["ImprovementCheck"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan",
        order_by="(ImprovementCheck.revision, ImprovementCheck.day_offset)")

    def __repr__(self):
        return f"<ImprovementPlan {self.id} {self.state}>"


class ImprovementPlanItem(db.Model):
    """One follow-up or one complaint grouped into a plan (exactly one of the two)."""
    __tablename__ = "improvement_plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "followup_id"), UniqueConstraint("plan_id", "complaint_id"),
        CheckConstraint("(followup_id IS NULL) <> (complaint_id IS NULL)", name="one_item"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("improvement_plans.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[ImprovementPlan] = relationship(back_populates="items")
    followup = relationship("FollowUp")
    complaint = relationship("Complaint")


class ImprovementCheck(db.Model):
    """A check of the plan's effect, due ``day_offset`` days after its measures were done
    (settings improvement.check_*_days); ``figures`` keeps what the checker saw (counts, scores)."""
    __tablename__ = "improvement_checks"
    __table_args__ = (UniqueConstraint("plan_id", "revision", "day_offset"), one_of("result", CHECK_RESULTS))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("improvement_plans.id", ondelete="CASCADE"), index=True)
    #: the plan's revision these checks follow (a revision schedules new ones)
    revision: Mapped[int] = mapped_column(default=0)
    day_offset: Mapped[int]
    due_on: Mapped[date] = mapped_column(index=True)
    result: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict | None] = mapped_column(JSON)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]

    plan: Mapped[ImprovementPlan] = relationship(back_populates="checks")
    checked_by = relationship("User")
