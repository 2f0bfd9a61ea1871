"""Scales, templates and their frozen versions (DESIGN §2)."""
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LANGUAGES, one_of, utcnow

#: complaint_followup: the satisfaction check on how a complaint was handled (DESIGN §4.7.4)
TEMPLATE_KINDS = ("pm_quarterly", "sales_visit", "callback", "complaint_followup")
QUESTION_TYPES = ("scale", "choice", "text", "yes_no")
DIMENSIONS = ("attitude", "timeliness", "technical", "communication", "resolution",
              "documentation", "overall")
SCALE_STYLES = ("labels", "numeric")


class Scale(db.Model):
    """Ordered options with raw values and their 5-point values; lo/hi: the raw range
    (a numeric scale's answers map linearly from it onto 1–5)."""
    __tablename__ = "scales"
    __table_args__ = (one_of("style", SCALE_STYLES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    #: 'labels' (pick one option) or 'numeric' (type a number between lo and hi)
    style: Mapped[str] = mapped_column(String(16), default="labels")
    lo: Mapped[float] = mapped_column(Float)
    hi: Mapped[float] = mapped_column(Float)
    options: Mapped[list["ScaleOption"]] = relationship(
        back_populates="scale", cascade="all, delete-orphan",
        order_by="ScaleOption.position", lazy="selectin")


class ScaleOption(db.Model):
    __tablename__ = "scale_options"
    __table_args__ = (UniqueConstraint("scale_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # display order, 0 = first shown (best)
    value: Mapped[float] = mapped_column(Float)
    #: the option's value on the 5-point scale (DESIGN §5): by label, fixed when the option is
    #: created and never changed, since versions that were answered use it
    points: Mapped[float] = mapped_column(Float)
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    scale: Mapped[Scale] = relationship(back_populates="options")


class Questionnaire(db.Model):
    """One questionnaire in its language variants: a Template per language, whose versions
    share question codes and dimensions, so a round sends each contact the form in their
    own language and the answers are scored together by question code."""
    __tablename__ = "questionnaires"
    __table_args__ = (one_of("kind", TEMPLATE_KINDS),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    templates: Mapped[list["Template"]] = relationship(back_populates="questionnaire",
                                                       order_by="Template.language.desc()")


class Template(db.Model):
    """A questionnaire in one language (a *language variant*), with its versions."""
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("kind", "language", "name"),
                      UniqueConstraint("questionnaire_id", "language"),
                      one_of("kind", TEMPLATE_KINDS), one_of("language", LANGUAGES))
    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    versions: Mapped[list["TemplateVersion"]] = relationship(
        back_populates="template", order_by="TemplateVersion.number")
    questionnaire: Mapped[Questionnaire] = relationship(back_populates="templates")

    @property
    def current_version(self):
        return self.versions[-1] if self.versions else None


class TemplateVersion(db.Model):
    """A frozen-once-answered set of questions. Editing a frozen version makes a new one."""
    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    frozen_at: Mapped[datetime | None]

    template: Mapped[Template] = relationship(back_populates="versions")
    questions: Mapped[list["Question"]] = relationship(
        back_populates="version", cascade="all, delete-orphan",
        order_by="Question.position", lazy="selectin")

    @property
    def language(self):
        return self.template.language

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("version_id", "code"), one_of("type", QUESTION_TYPES),
                      one_of("dimension", DIMENSIONS))  # NULL: no dimension
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    scale_id: Mapped[int | None] = mapped_column(ForeignKey("scales.id"))
    dimension: Mapped[str | None] = mapped_column(String(32))
    required: Mapped[bool] = mapped_column(default=True)
    allow_na: Mapped[bool] = mapped_column(default=False)
    #: for type 'choice': list of option strings
    choices: Mapped[list | None] = mapped_column(JSON)

    version: Mapped[TemplateVersion] = relationship(back_populates="questions")
    scale: Mapped[Scale | None] = relationship(lazy="selectin")
