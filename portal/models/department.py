"""Departments (DESIGN §2): a name, a head and members; complaints, improvement plans and
follow-ups can be routed to one, and its members see its queue."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class Department(db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    head = relationship("User", foreign_keys=[head_id])
    memberships: Mapped[list["DepartmentMember"]] = relationship(
        back_populates="department", cascade="all, delete-orphan")

    @property
    def members(self):
        return [m.user for m in self.memberships]

    def __repr__(self):
        return f"<Department {self.name}>"


class DepartmentMember(db.Model):
    __tablename__ = "department_members"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    department: Mapped[Department] = relationship(back_populates="memberships")
    user = relationship("User")
