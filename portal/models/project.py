from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

PROJECT_STATUSES = ("active", "completed", "suspended")


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (one_of("status", PROJECT_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    pm_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sales_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client = relationship("Client")
    pm = relationship("User", foreign_keys=[pm_id])
    sales = relationship("User", foreign_keys=[sales_id])
    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="project", cascade="all, delete-orphan",
        order_by="Milestone.planned_date")

    @property
    def key_milestone_reached(self) -> bool:
        return any(m.reached_date and m.is_key for m in self.milestones)

    def __repr__(self):
        return f"<Project {self.code}>"


class Milestone(db.Model):
    __tablename__ = "milestones"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    planned_date: Mapped[date | None]
    reached_date: Mapped[date | None]
    is_key: Mapped[bool] = mapped_column(default=False)

    project: Mapped[Project] = relationship(back_populates="milestones")
