"""Language variants (DESIGN §8): one questionnaire in zh and en; a round sends each contact the
variant in their language, the contact may switch, answers are scored by question code."""
import pytest

from portal.services import DomainError, rounds, survey
from portal.services import questionnaires as svc
from portal.services.variants import matching_variants, scores_by_question_code, variant_problems

from ..rounds_world import ANSWERS, build_world

EN_QUESTIONS = [
    dict(code="attitude", text="Service attitude", type="scale", scale="sat5_a", dimension="attitude"),
    dict(code="timeliness", text="Response time", type="scale", scale="sat5_a", dimension="timeliness",
         allow_na=True),
    dict(code="technical", text="Technical skill", type="scale", scale="points10", dimension="technical"),
    dict(code="opinion", text="Comments", type="text", required=False),
]


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def english(world, make):
    return make.template_version(language="en", questions=EN_QUESTIONS, variant_of=world.version)


def test_a_variant_must_ask_the_same_questions(world, make, english):
    assert variant_problems(world.version, english) == []
    other = make.template_version(language="en", questions=EN_QUESTIONS[:2])
    assert variant_problems(world.version, other) == ["missing opinion", "missing technical"]
    assert set(matching_variants(world.version)) == {"zh", "en"}


def test_a_mismatched_variant_is_not_sent(world, make, db):
    make.template_version(language="en", questions=EN_QUESTIONS[:2], variant_of=world.version)
    rnd = world.open()
    assert rnd.languages == ["zh"]
    assert {i.language for i in rnd.invitations} == {"zh"}  # Alice reads the Chinese form then


def test_each_contact_gets_the_variant_in_their_language(world, english, db):
    rnd = world.open()
    assert rnd.languages == ["zh", "en"]
    wang, alice, li = rnd.invitations
    assert (wang.language, alice.language, li.language) == ("zh", "en", "zh")
    assert alice.version.id == english.id and wang.version.id == world.version.id
    assert rounds.languages_offered(world.version) == ["zh", "en"]


def test_the_contact_switches_and_the_draft_carries_over(world, english, db):
    rnd = world.open()
    alice = rnd.invitations[1]
    survey.save_draft(alice, {"q_attitude": "4"})
    assert survey.choose_language(alice, "zh").id == world.version.id
    assert survey.choose_language(alice, "fr").id == world.version.id  # not offered: ignored
    db.session.commit()
    assert alice.language == "zh" and alice.draft == {"q_attitude": "4"}
    response = survey.submit_online(alice.id, ANSWERS)
    db.session.commit()
    assert response.template_version_id == world.version.id


def test_scores_group_by_question_code_across_variants(world, english, db):
    rnd = world.open()
    wang, alice, _ = rnd.invitations
    zh = survey.submit_online(wang.id, {**ANSWERS, "q_attitude": "5"})
    en = survey.submit_online(alice.id, {**ANSWERS, "q_attitude": "3"})
    db.session.commit()
    assert (zh.template_version_id, en.template_version_id) == (world.version.id, english.id)
    scores = scores_by_question_code([zh.id, en.id])
    assert scores["attitude"] == (2, pytest.approx(4.0))  # one answer in each language
    assert scores["technical"][0] == 2 and "opinion" not in scores


def test_paper_entry_uses_the_contacts_variant(world, english, db):
    rnd = world.open()
    response = rounds.enter_paper_response(rnd.invitations[1], ANSWERS, world.pm)
    assert response.template_version_id == english.id


def test_variant_of_a_template_in_the_same_language_is_refused(world, db):
    with pytest.raises(DomainError):
        svc.create_template("pm_quarterly", "zh", "另一份", "另一份", variant_of=world.version.template)
    with pytest.raises(DomainError):
        svc.create_template("callback", "en", "Other", "Other", variant_of=world.version.template)
    template = svc.create_template("pm_quarterly", "en", "English", "English", variant_of=world.version.template)
    assert template.questionnaire_id == world.version.template.questionnaire_id


def test_default_templates_pair_zh_and_en_as_variants(db):
    from portal.seed.templates import ensure_default_templates
    templates = ensure_default_templates()
    db.session.commit()
    by_kind = {}
    for t in templates:
        by_kind.setdefault(t.kind, set()).add(t.questionnaire_id)
    assert all(len(ids) == 1 for ids in by_kind.values()), by_kind
    zh = svc.current_versions("pm_quarterly", "zh")[0]
    assert set(matching_variants(zh)) == {"zh", "en"}
