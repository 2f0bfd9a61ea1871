"""/healthz, for the load balancer (docs/operations.md): public, plain, 200 while the database
answers, 503 when it does not."""
from sqlalchemy.exc import OperationalError

from portal.extensions import db


def test_healthz_says_ok_without_a_session(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.data == b"ok\n"
    assert "Set-Cookie" not in answer.headers


def test_healthz_is_503_when_the_database_fails(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
    monkeypatch.setattr(db.session, "execute", broken)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and b"database unavailable" in answer.data
