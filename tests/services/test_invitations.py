"""services.invitations: one stable link per invitation, kept encrypted, looked up by hash;
only an explicit rotation replaces it (DESIGN §4.1.2)."""
import pytest
from sqlalchemy import select

from portal.models import AuditEvent
from portal.services import DomainError, invitations, survey
from portal.services.tokens import decrypt_token, encrypt_token, hash_token

from ..rounds_world import build_world, text_values_in_database


@pytest.fixture
def world(db):
    return build_world()


def test_every_invitation_has_its_link_from_the_start(world, db):
    rnd = world.open()
    for invitation in rnd.invitations:
        token = invitations.current_token(invitation)
        assert invitation.token_hash == hash_token(token)
        assert survey.find_valid_invitation(token) is invitation


def test_showing_the_link_twice_gives_the_same_working_link(app, world, db):
    rnd = world.open()
    invitation = rnd.invitations[0]
    with app.test_request_context(base_url="http://portal.local"):
        first = invitations.current_link(invitation, by_user=world.pm)
        second = invitations.current_link(invitation, by_user=world.pm)
    db.session.commit()
    assert first == second and first.startswith("http://portal.local/s/")
    assert survey.find_valid_invitation(first.rsplit("/", 1)[1]) is invitation


def test_rotating_issues_a_new_link_and_the_old_one_stops_working(app, world, db):
    rnd = world.open()
    invitation = rnd.invitations[0]
    old = invitations.current_token(invitation)
    with app.test_request_context(base_url="http://portal.local"):
        new_link = invitations.rotate_link(invitation, world.pm)
    db.session.commit()
    new = new_link.rsplit("/", 1)[1]
    assert new != old and invitations.current_token(invitation) == new
    assert survey.find_valid_invitation(old) is None
    assert survey.find_valid_invitation(new) is invitation
    issued = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "link_issued")).all()
    assert [e.user_id for e in issued] == [world.pm.id]


def test_only_the_projects_pm_rotates_and_not_once_answered(world, db):
    rnd = world.open()
    with pytest.raises(DomainError):
        invitations.rotate_link(rnd.invitations[1], world.other_pm)
    rnd.invitations[0].used_at = rnd.invitations[0].created_at
    db.session.commit()
    with pytest.raises(DomainError):
        invitations.current_link(rnd.invitations[0])


def test_raw_tokens_are_nowhere_in_the_database(world, db):
    rnd = world.open()
    tokens = [invitations.current_token(i) for i in rnd.invitations]
    db.session.commit()
    stored = text_values_in_database()
    assert stored  # the scan sees the data
    assert not [t for t in tokens if any(t in value for value in stored)]


def test_a_token_kept_under_another_secret_key_is_replaced_once(world, db):
    """After SECRET_KEY changes the kept tokens cannot be read: the next use issues a new link."""
    rnd = world.open()
    invitation = rnd.invitations[0]
    invitation.token_encrypted = encrypt_token("x" * 43, secret_key="an-old-secret")
    db.session.commit()
    assert decrypt_token(invitation.token_encrypted) is None
    token = invitations.current_token(invitation, by_user=world.pm)
    assert invitation.token_hash == hash_token(token)
    assert invitations.current_token(invitation) == token


def test_survey_link_uses_public_base_url(app, world):
    app.config["PUBLIC_BASE_URL"] = "https://survey.example.cn/"
    try:
        assert invitations.survey_link("abc") == "https://survey.example.cn/s/abc"
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    with app.test_request_context(base_url="http://portal.local"):
        assert invitations.survey_link("abc") == "http://portal.local/s/abc"
