"""Configuration: a SECRET_KEY is generated once and kept in the instance folder."""
import stat

from portal.config import load_secret_key


def test_secret_key_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) == 64
    assert load_secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_denied_access_is_audited(client, auth, make, db):
    from portal.models import AuditEvent
    make.user("pm_a", roles=("pm",))
    other = make.project()
    auth.login("pm_a")
    assert client.get(f"/projects/{other.id}").status_code == 403
    event = db.session.query(AuditEvent).filter_by(action="access_denied").one()
    assert event.username == "pm_a" and event.ip == "127.0.0.1" and f"/projects/{other.id}" in event.detail


def test_upload_over_max_content_length_is_refused(client, auth, make, app):
    make.user("pm_a", roles=("pm",))
    auth.login("pm_a")
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/logout", data=big, content_type="application/octet-stream")
    assert response.status_code == 413
