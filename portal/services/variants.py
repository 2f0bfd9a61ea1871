"""Language variants of one questionnaire (DESIGN §8): the zh and en templates of a
Questionnaire ask the same questions — the same codes, types and dimensions — in two
languages. A round sends each contact the variant in their language; answers are
compared and scored by question code across variants."""
from sqlalchemy import func, select

from ..extensions import db
from ..models import Answer, Question, Response


def _shape(version):
    return {q.code: (q.type, q.dimension) for q in version.questions}


def variant_problems(version, other) -> list:
    """Why ``other`` cannot stand in for ``version`` in another language ([] if it can)."""
    mine, theirs = _shape(version), _shape(other)
    problems = [f"missing {code}" for code in sorted(set(mine) - set(theirs))]
    problems += [f"extra {code}" for code in sorted(set(theirs) - set(mine))]
    problems += [f"{code}: {mine[code]} ≠ {theirs[code]}" for code in sorted(set(mine) & set(theirs))
                 if mine[code] != theirs[code]]
    return problems


def matching_variants(version) -> dict:
    """language → the current version of each variant of ``version``'s questionnaire that asks the
    same questions, ``version`` itself included (archived variants and mismatches left out)."""
    from .questionnaires import current_version
    found = {version.template.language: version}
    for template in version.template.questionnaire.templates:
        if template.id == version.template_id or template.archived:
            continue
        other = current_version(template)
        if other is not None and other.questions and not variant_problems(version, other):
            found[template.language] = other
    return found


def language_for(contact_language, languages, default):
    """The variant a contact gets: their own language when the round has it, else ``default``."""
    return contact_language if contact_language in languages else default


def scores_by_question_code(response_ids) -> dict:
    """code → (answers, mean normalized score) over the responses, whichever variant they answered
    (one GROUP BY in the database; N/A and unscored answers left out)."""
    if not response_ids:
        return {}
    rows = db.session.execute(
        select(Question.code, func.count(Answer.id), func.avg(Answer.normalized))
        .join(Answer, Answer.question_id == Question.id)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.id.in_(list(response_ids)), Answer.normalized.isnot(None))
        .group_by(Question.code)).all()
    return {code: (count, float(mean)) for code, count, mean in rows}
