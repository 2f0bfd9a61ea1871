"""services.survey: which links open, drafts, submitting once, opting out (DESIGN §4.1.2–3)."""
import base64
import hashlib
from datetime import timedelta

import pytest

from portal.models import AuditEvent, Invitation, Response
from portal.models.base import utcnow
from portal.services import survey
from portal.services.tokens import new_token

ANSWERS = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9", "q_opinion": ""}


def test_tokens_carry_at_least_128_random_bits_and_only_their_hash_is_kept():
    tokens = set()
    for _ in range(500):
        token, token_hash = new_token()
        assert len(token) >= 43
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
        assert token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in token_hash
        tokens.add(token)
    assert len(tokens) == 500


def test_factory_invitation_stores_the_hash_not_the_token(make):
    inv, token = make.invitation()
    assert inv.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_valid_link_is_found(make):
    inv, token = make.invitation()
    assert survey.find_valid_invitation(token) is inv


@pytest.mark.parametrize("token", ["", "short", "x" * 43 + "!", "ü" * 43, "A" * 43, "A" * 500])
def test_unknown_or_malformed_links_find_nothing(make, token):
    make.invitation()
    assert survey.find_valid_invitation(token) is None


def test_link_expires_at_its_expiry_instant(make):
    expires = utcnow().replace(microsecond=0) + timedelta(hours=1)
    inv, token = make.invitation(expires_at=expires)
    assert survey.find_valid_invitation(token, now=expires - timedelta(seconds=1)) is inv
    assert survey.find_valid_invitation(token, now=expires) is None


def test_used_link_finds_nothing(make, db):
    inv, token = make.invitation()
    survey.submit_online(inv.id, ANSWERS)
    db.session.commit()
    assert survey.find_valid_invitation(token) is None


def test_opted_out_contact_or_closed_round_finds_nothing(make, db):
    inv, token = make.invitation()
    inv.contact.opted_out = True
    db.session.commit()
    assert survey.find_valid_invitation(token) is None
    inv2, token2 = make.invitation()
    inv2.round.closed_at = utcnow()
    db.session.commit()
    assert survey.find_valid_invitation(token2) is None


def test_opened_at_is_set_once(make):
    inv, _ = make.invitation()
    first = utcnow() - timedelta(hours=2)
    survey.open_invitation(inv, now=first)
    survey.open_invitation(inv)
    assert inv.opened_at == first


def test_survey_session_never_outlives_the_link(make):
    now = utcnow()
    inv, _ = make.invitation(expires_at=now + timedelta(minutes=30))
    assert survey.session_until(inv, 120, now=now) == inv.expires_at
    assert survey.session_until(inv, 10, now=now) == now + timedelta(minutes=10)


def test_session_invitation_tells_used_apart_only_to_its_holder(make, db):
    inv, _ = make.invitation()
    assert survey.invitation_for_session(inv.id) is inv
    survey.submit_online(inv.id, ANSWERS)
    db.session.commit()
    with pytest.raises(survey.AlreadySubmitted):
        survey.invitation_for_session(inv.id)
    with pytest.raises(survey.LinkInvalid):
        survey.invitation_for_session(inv.id + 999)
    with pytest.raises(survey.LinkInvalid):
        survey.invitation_for_session(None)


def test_draft_keeps_answered_fields_as_strings(make, db):
    inv, _ = make.invitation()
    saved_at = survey.save_draft(inv, {"q_attitude": "4", "q_opinion": "  很好  ", "q_technical": "",
                                       "csrf_token": "x", "q_unknown": "1"})
    db.session.commit()
    stored = db.session.get(Invitation, inv.id)
    assert stored.draft == {"q_attitude": "4", "q_opinion": "很好"}
    assert stored.draft_saved_at == saved_at
    assert db.session.query(AuditEvent).filter_by(action="survey_draft_saved", object_id=str(inv.id)).count() == 1


def test_draft_with_a_bad_value_is_refused_and_the_old_draft_stays(make, db):
    inv, _ = make.invitation()
    survey.save_draft(inv, {"q_attitude": "4"})
    db.session.commit()
    with pytest.raises(survey.AnswersInvalid) as exc:
        survey.save_draft(inv, {"q_attitude": "4", "q_technical": "11"})
    assert set(exc.value.errors) == {"technical"}
    db.session.rollback()
    assert db.session.get(Invitation, inv.id).draft == {"q_attitude": "4"}


def test_submit_online_records_one_response_and_kills_the_link(make, db):
    inv, token = make.invitation()
    survey.open_invitation(inv)
    survey.save_draft(inv, {"q_attitude": "1"})
    response = survey.submit_online(inv.id, ANSWERS, client_ip="10.0.0.7", user_agent="UA")
    db.session.commit()
    stored = db.session.get(Response, response.id)
    assert stored.channel == "online" and stored.invitation_id == inv.id
    assert stored.started_at == inv.opened_at and stored.client_ip == "10.0.0.7"
    assert stored.quarter == inv.round.quarter and stored.project_id == inv.round.project_id
    assert inv.used_at is not None and inv.draft is None
    with pytest.raises(survey.AlreadySubmitted):
        survey.submit_online(inv.id, ANSWERS)
    db.session.rollback()
    assert db.session.query(Response).count() == 1


def test_submit_online_enforces_required_questions(make, db):
    inv, _ = make.invitation()
    with pytest.raises(survey.AnswersInvalid) as exc:
        survey.submit_online(inv.id, {"q_attitude": "5"})
    assert set(exc.value.errors) == {"timeliness", "technical"}
    db.session.rollback()
    assert db.session.query(Response).count() == 0
    assert db.session.get(Invitation, inv.id).used_at is None


def test_submit_online_refuses_an_expired_link(make, db):
    inv, _ = make.invitation(expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(survey.LinkInvalid):
        survey.submit_online(inv.id, ANSWERS)
    db.session.rollback()
    assert db.session.query(Response).count() == 0


def test_opt_out_marks_the_contact_once_and_is_audited(make, db):
    inv, token = make.invitation()
    survey.opt_out(inv)
    survey.opt_out(inv)
    db.session.commit()
    contact = inv.contact
    assert contact.opted_out and contact.opted_out_at is not None
    assert db.session.query(AuditEvent).filter_by(action="contact_opted_out").count() == 1
    assert survey.find_valid_invitation(token) is None
    other, other_token = make.invitation(contact_=contact)  # later rounds' links are dead too
    assert survey.find_valid_invitation(other_token) is None
