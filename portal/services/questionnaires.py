"""Questionnaire templates and their versions (DESIGN §2).

A version that has been answered or issued to clients is frozen: a change to it
goes to a new version (a copy of its questions with the change applied), so a
response always keeps the exact questions it answered. Only a template's current
(latest) version is changed; older versions stay as they were.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (DIMENSIONS, QUESTION_TYPES, TEMPLATE_KINDS, Question, Questionnaire, Response,
                      RoundVersion, Scale, SurveyRound, Template, TemplateVersion)
from . import DomainError
from .audit import record_change, record_event, snapshot
from .scales import ensure_shipped_scales

LANGUAGES = ("zh", "en")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEXT_MAX = 500
CHOICE_MAX = 200
SCORED_TYPES = ("scale", "yes_no")
QUESTION_COLUMNS = ("code", "text", "type", "scale_id", "dimension", "required", "allow_na", "choices")
_UNSET = object()


class NotCurrentVersion(DomainError):
    """A change aimed at a version that is no longer its template's latest."""


@dataclass
class EditResult:
    """Where a change landed: ``version`` is the one now holding it (a new one if ``new_version``)."""
    version: TemplateVersion
    new_version: bool = False
    question: Optional[Question] = None


@dataclass
class VersionState:
    """What the editor needs to know about a version besides its questions."""
    version: TemplateVersion
    latest: TemplateVersion
    frozen: bool
    responses: int
    rounds: int
    history: list  # [(version, frozen, responses)] oldest first

    @property
    def is_current(self) -> bool:
        return self.latest.id == self.version.id


@dataclass
class TemplateRow:
    template: Template
    current: Optional[TemplateVersion]
    frozen: bool
    responses: int      # responses to the current version
    questions: int


# --- reading ----------------------------------------------------------------------------------

def current_version(template) -> Optional[TemplateVersion]:
    """The template's latest version (the one rounds and forms use from now on)."""
    return db.session.scalar(
        select(TemplateVersion).where(TemplateVersion.template_id == template.id)
        .order_by(TemplateVersion.number.desc()).limit(1))


def is_current(version) -> bool:
    latest = current_version(version.template)
    return latest is not None and latest.id == version.id


def response_count(version) -> int:
    return db.session.scalar(
        select(func.count(Response.id)).where(Response.template_version_id == version.id)) or 0


def is_frozen(version) -> bool:
    """Answered (frozen_at set, or any response) or issued to clients in a survey round."""
    if version.frozen_at is not None:
        return True
    return bool(db.session.scalar(select(or_(
        exists().where(Response.template_version_id == version.id),
        exists().where(SurveyRound.template_version_id == version.id),
        exists().where(RoundVersion.template_version_id == version.id)))))


def version_state(version) -> VersionState:
    versions = db.session.scalars(select(TemplateVersion).where(
        TemplateVersion.template_id == version.template_id).order_by(TemplateVersion.number)).all()
    ids = [v.id for v in versions]
    answered = dict(db.session.execute(
        select(Response.template_version_id, func.count(Response.id))
        .where(Response.template_version_id.in_(ids)).group_by(Response.template_version_id)).all())
    issued = dict(db.session.execute(
        select(SurveyRound.template_version_id, func.count(SurveyRound.id))
        .where(SurveyRound.template_version_id.in_(ids)).group_by(SurveyRound.template_version_id)).all())
    for version_id, count in db.session.execute(  # sent as the language variant of another version
            select(RoundVersion.template_version_id, func.count(RoundVersion.id))
            .join(SurveyRound, SurveyRound.id == RoundVersion.round_id)
            .where(RoundVersion.template_version_id.in_(ids),
                   SurveyRound.template_version_id != RoundVersion.template_version_id)
            .group_by(RoundVersion.template_version_id)).all():
        issued[version_id] = issued.get(version_id, 0) + count
    history = [(v, bool(v.frozen_at or answered.get(v.id) or issued.get(v.id)), answered.get(v.id, 0))
               for v in versions]
    frozen = next(f for v, f, _ in history if v.id == version.id)
    return VersionState(version, versions[-1], frozen, answered.get(version.id, 0),
                        issued.get(version.id, 0), history)


def current_versions(kind, language=None):
    """Latest version of each non-archived template of ``kind`` that has questions —
    what a new round or form picks from."""
    latest = (select(TemplateVersion.template_id, func.max(TemplateVersion.number).label("number"))
              .group_by(TemplateVersion.template_id).subquery())
    stmt = (select(TemplateVersion)
            .join(latest, and_(TemplateVersion.template_id == latest.c.template_id,
                               TemplateVersion.number == latest.c.number))
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(Template.kind == kind, Template.archived.is_(False),
                   exists().where(Question.version_id == TemplateVersion.id))
            .order_by(Template.language, Template.name))
    if language:
        stmt = stmt.where(Template.language == language)
    return db.session.scalars(stmt).all()


def template_overview(kind=None, language=None, archived=False):
    """Templates with their current version, frozen state and response count, for the list page."""
    stmt = (select(Template).options(selectinload(Template.versions))
            .order_by(Template.kind, Template.language, Template.name))
    if kind:
        stmt = stmt.where(Template.kind == kind)
    if language:
        stmt = stmt.where(Template.language == language)
    if not archived:
        stmt = stmt.where(Template.archived.is_(False))
    templates = db.session.scalars(stmt).all()
    answered = dict(db.session.execute(
        select(Response.template_version_id, func.count(Response.id))
        .group_by(Response.template_version_id)).all())
    issued = set(db.session.scalars(select(SurveyRound.template_version_id).distinct())) | set(
        db.session.scalars(select(RoundVersion.template_version_id).distinct()))
    rows = []
    for template in templates:
        current = template.versions[-1] if template.versions else None
        count = answered.get(current.id, 0) if current else 0
        frozen = bool(current and (current.frozen_at or count or current.id in issued))
        rows.append(TemplateRow(template, current, frozen, count,
                                len(current.questions) if current else 0))
    return rows


# --- templates and versions -------------------------------------------------------------------

NAME_TAKEN = _l("A template of this kind and language already has this name.")


def _name_taken(kind, language, name, template_id=None) -> bool:
    """Names are unique per kind and language, ignoring case."""
    return bool(db.session.scalar(select(exists().where(
        Template.kind == kind, Template.language == language,
        func.lower(Template.name) == name.lower(), Template.id != template_id))))


@contextmanager
def _storing_name(kind, language, name, template_id=None):
    """Write and flush in a savepoint: a same-named template stored meanwhile by another request
    (the database's unique key refuses the second) is the same field error as the check's."""
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError:
        if not _name_taken(kind, language, name, template_id):
            raise
        raise DomainError(NAME_TAKEN, field="name") from None


def create_template(kind, language, name, title, intro=None, *, variant_of=None, user=None) -> Template:
    """A new template with an empty version 1 (and the shipped scales its questions will use).

    ``variant_of``: a template of the same kind in the other language; the new one becomes its
    language variant (one questionnaire: the same question codes and dimensions, see
    services.variants). Without it the template starts a questionnaire of its own."""
    name, title = (name or "").strip(), (title or "").strip()
    if kind not in TEMPLATE_KINDS:
        raise DomainError(_l("Pick a kind of questionnaire."), field="kind")
    if language not in LANGUAGES:
        raise DomainError(_l("Pick a language."), field="language")
    if not name:
        raise DomainError(_l("This field is required."), field="name")
    if not title:
        raise DomainError(_l("This field is required."), field="title")
    if _name_taken(kind, language, name):
        raise DomainError(NAME_TAKEN, field="name")
    questionnaire = _questionnaire_for(kind, language, variant_of)
    ensure_shipped_scales()
    template = Template(kind=kind, language=language, name=name)
    db.session.add(questionnaire)
    version = TemplateVersion(template=template, number=1, title=title,
                              intro=(intro or "").strip() or None,
                              created_by_id=user.id if user else None)
    with _storing_name(kind, language, name):
        db.session.add_all([template, version])
        template.questionnaire = questionnaire
    record_change("create", template, after={"kind": kind, "language": language, "name": name,
                                             "title": title, "version": 1})
    return template


def _questionnaire_for(kind, language, variant_of):
    if variant_of is None:
        return Questionnaire(kind=kind)
    if variant_of.kind != kind:
        raise DomainError(_l("A language variant must be of the same kind."), field="variant_of")
    if any(t.language == language for t in variant_of.questionnaire.templates):
        raise DomainError(_l("This questionnaire already has a variant in this language."), field="variant_of")
    return variant_of.questionnaire


def rename_template(template, name):
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("This field is required."), field="name")
    if name == template.name:
        return template
    if _name_taken(template.kind, template.language, name, template.id):
        raise DomainError(NAME_TAKEN, field="name")
    before = snapshot(template, ("name",))
    with _storing_name(template.kind, template.language, name, template.id):
        template.name = name
    record_change("update", template, before, snapshot(template, ("name",)))
    return template


def set_template_archived(template, archived: bool):
    """Archived templates are kept (responses point at them) but offered for no new round."""
    if template.archived != archived:
        before = snapshot(template, ("archived",))
        template.archived = archived
        db.session.flush()
        record_change("update", template, before, snapshot(template, ("archived",)))
    return template


def new_version_from(version, *, user=None) -> TemplateVersion:
    """Copy ``version`` (title, intro, questions) as its template's next version."""
    number = (db.session.scalar(select(func.max(TemplateVersion.number))
                                .where(TemplateVersion.template_id == version.template_id)) or 0) + 1
    copy = TemplateVersion(template=version.template, number=number, title=version.title,
                           intro=version.intro, created_by_id=user.id if user else None)
    for q in sorted(version.questions, key=lambda q: q.position):
        copy.questions.append(Question(
            position=q.position, code=q.code, text=q.text, type=q.type, scale_id=q.scale_id,
            dimension=q.dimension, required=q.required, allow_na=q.allow_na,
            choices=list(q.choices) if q.choices is not None else None))
    db.session.add(copy)
    db.session.flush()
    record_event("create", copy, detail={"template": version.template_id, "number": number,
                                         "copied_from": version.number})
    return copy


def _writable(version, user):
    """The version a change goes to: ``version`` while it is a draft, else a new copy of it."""
    db.session.execute(select(Template.id).where(Template.id == version.template_id).with_for_update())
    if not is_current(version):
        raise NotCurrentVersion(_l("This is an older version; changes go to the current version."))
    if is_frozen(version):
        return new_version_from(version, user=user), True
    return version, False


def edit_version(version, *, title=_UNSET, intro=_UNSET, user=None) -> EditResult:
    """Change the title or introduction; a frozen version gets a new version instead."""
    changes = {}
    if title is not _UNSET:
        title = (title or "").strip()
        if not title:
            raise DomainError(_l("This field is required."), field="title")
        if title != version.title:
            changes["title"] = title
    if intro is not _UNSET:
        intro = (intro or "").strip() or None
        if intro != version.intro:
            changes["intro"] = intro
    if not changes:
        return EditResult(version)
    target, created = _writable(version, user)
    before = snapshot(target, ("title", "intro"))
    for key, value in changes.items():
        setattr(target, key, value)
    db.session.flush()
    record_change("update", target, before, snapshot(target, ("title", "intro")))
    return EditResult(target, created)


def edit_details(version, *, name, title, intro, user=None) -> EditResult:
    """The template's name (not versioned) and the version's title and introduction."""
    rename_template(version.template, name)
    return edit_version(version, title=title, intro=intro, user=user)


# --- questions --------------------------------------------------------------------------------

def _resolve_scale(scale):
    if scale is None or scale == "":
        return None
    if isinstance(scale, Scale):
        return scale
    if isinstance(scale, int) or (isinstance(scale, str) and scale.isdigit()):
        found = db.session.get(Scale, int(scale))
    else:
        found = db.session.scalar(select(Scale).where(Scale.code == scale))
    if found is None:
        raise DomainError(_l("Pick one of the scales."), field="scale")
    return found


def _clean_choices(choices):
    if isinstance(choices, str):
        choices = choices.splitlines()
    cleaned = []
    for choice in choices or []:
        choice = (choice or "").strip()
        if choice and choice not in cleaned:
            cleaned.append(choice)
    if len(cleaned) < 2:
        raise DomainError(_l("Give at least two options, one per line."), field="choices")
    if any(len(c) > CHOICE_MAX for c in cleaned):
        raise DomainError(_l("Keep each option under %(n)d characters.", n=CHOICE_MAX), field="choices")
    return cleaned


def clean_question(version, *, code, text, type, scale=None, dimension=None, required=True,
                   allow_na=False, choices=None, replacing=None) -> dict:
    """Check one question's fields against the rules; return the column values to store.

    ``replacing``: the question being changed (its own code does not count as taken)."""
    code = (code or "").strip().lower()
    if not code:
        raise DomainError(_l("This field is required."), field="code")
    if not CODE_RE.match(code):
        raise DomainError(_l("Use lower-case letters, digits and _ (start with a letter, at most 40)."),
                          field="code")
    if any(q.code == code and q is not replacing for q in version.questions):
        raise DomainError(_l("Another question of this version already has this code."), field="code")
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("This field is required."), field="text")
    if len(text) > TEXT_MAX:
        raise DomainError(_l("Keep this under %(n)d characters.", n=TEXT_MAX), field="text")
    if type not in QUESTION_TYPES:
        raise DomainError(_l("Pick a question type."), field="type")
    dimension = dimension or None
    if dimension is not None and dimension not in DIMENSIONS:
        raise DomainError(_l("Pick one of the dimensions."), field="dimension")
    scale_obj = None
    if type in SCORED_TYPES:
        scale_obj = _resolve_scale(scale)
        if scale_obj is None:
            raise DomainError(_l("A scored question needs a scale."), field="scale")
        if type == "yes_no" and (scale_obj.style != "labels" or len(scale_obj.options) != 2):
            raise DomainError(_l("A yes/no question needs a scale with two options."), field="scale")
    cleaned_choices = _clean_choices(choices) if type == "choice" else None
    return {"code": code, "text": text, "type": type, "scale_id": scale_obj.id if scale_obj else None,
            "dimension": dimension, "required": bool(required),
            "allow_na": bool(allow_na) and type != "text", "choices": cleaned_choices}


def _renumber(version):
    for i, q in enumerate(sorted(version.questions, key=lambda q: q.position)):
        q.position = i


def _reload_questions(version):
    db.session.flush()
    db.session.expire(version, ["questions"])


def _counterpart(question, target):
    """The question in ``target`` (a copy of the question's version) with the same code."""
    return next(q for q in target.questions if q.code == question.code)


def add_question(version, *, user=None, **fields) -> EditResult:
    """Append a question (fields as for ``clean_question``)."""
    values = clean_question(version, **fields)
    target, created = _writable(version, user)
    question = Question(position=len(target.questions), **values)
    target.questions.append(question)
    _reload_questions(target)
    record_change("create", question, after={"version": target.id, **values})
    return EditResult(target, created, question)


def update_question(question, *, user=None, **fields) -> EditResult:
    """Change a question; nothing happens (and no version is made) if nothing differs."""
    version = question.version
    values = clean_question(version, replacing=question, **fields)
    before = snapshot(question, QUESTION_COLUMNS)
    if values == before:
        return EditResult(version, False, question)
    target, created = _writable(version, user)
    if created:
        question = _counterpart(question, target)
    for key, value in values.items():
        setattr(question, key, value)
    _reload_questions(target)
    db.session.expire(question, ["scale"])
    record_change("update", question, before, snapshot(question, QUESTION_COLUMNS))
    return EditResult(target, created, question)


def remove_question(question, *, user=None) -> EditResult:
    target, created = _writable(question.version, user)
    if created:
        question = _counterpart(question, target)
    record_change("delete", question, before=None, after={"version": target.id, "code": question.code})
    target.questions.remove(question)
    db.session.flush()
    _renumber(target)
    _reload_questions(target)
    return EditResult(target, created)


def move_question(question, direction, *, user=None) -> EditResult:
    """Swap a question with its neighbour (``direction`` 'up' or 'down'); at an end, no change."""
    if direction not in ("up", "down"):
        raise DomainError(_l("Move up or down."), field="direction")
    ordered = sorted(question.version.questions, key=lambda q: q.position)
    index = ordered.index(question)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        return EditResult(question.version, False, question)
    target, created = _writable(question.version, user)
    if created:
        question = _counterpart(question, target)
    ordered = sorted(target.questions, key=lambda q: q.position)
    a, b = ordered[index], ordered[other]
    a.position, b.position = b.position, a.position
    _reload_questions(target)
    record_event("update", question, detail={"version": target.id, "moved": direction,
                                             "position": question.position})
    return EditResult(target, created, question)
