"""CSRF on every state-changing route, enumerated from the URL map.

Every rule answering POST/PUT/PATCH/DELETE refuses a request without a CSRF token with 400 —
as a plain form post and as an htmx request — for a signed-in user holding every role (so no
access rule would have stopped it first), before the view runs: Flask-WTF says why in its log
and not one row of the database changes. Public forms (survey, complaint, complaint check,
language, login) are no exception. There are no exemptions; one added later must be listed in
EXEMPT with its reason.
"""
import logging

import pytest
from sqlalchemy import func, select

from portal.extensions import db as _db
from portal.extensions import limiter

from .. import factories
from ..blueprints.test_authorization_matrix import _build_world, _resolve

from . import APP_LAYER_ONLY

pytestmark = APP_LAYER_ONLY

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: endpoint -> why it may take a state-changing request without a CSRF token (none so far)
EXEMPT: dict[str, str] = {}


@pytest.fixture
def world(app, db):
    limiter.enabled = False
    factories.user("everything", roles=("pm", "sales", "quality", "pmo", "archive", "exec", "admin"))
    yield _build_world()
    limiter.enabled = True


def _row_counts():
    return {t.name: _db.session.scalar(select(func.count()).select_from(t)) for t in _db.metadata.sorted_tables}


def _state_changing_routes(app, world):
    with app.test_request_context():
        return [(rule.endpoint, method, _resolve(rule, world))
                for rule in app.url_map.iter_rules() if rule.endpoint not in EXEMPT
                for method in sorted(rule.methods & STATE_CHANGING)]


def test_the_url_map_has_state_changing_routes_and_no_exemptions(app, world):
    routes = _state_changing_routes(app, world)
    assert len(routes) > 80  # a broken enumeration would pass everything below vacuously
    assert {"auth.logout", "survey.submit", "complaint_form.public_form", "users.password"} <= {e for e, _, _ in routes}
    from portal.extensions import csrf
    assert not csrf._exempt_views and not csrf._exempt_blueprints


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_every_state_changing_route_refuses_a_request_without_csrf_token(app, world, caplog, htmx):
    client = app.test_client()
    client.post_form("/login", {"username": "everything", "password": factories.PASSWORD})
    assert client.get("/").status_code == 200
    headers = {"HX-Request": "true"} if htmx else {}
    before = _row_counts()
    failures = []
    for endpoint, method, url in _state_changing_routes(app, world):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flask_wtf.csrf"):
            response = client.open(url, method=method, data={"name": "x", "text": "x"}, headers=headers)
        said_csrf = any("CSRF" in r.getMessage() for r in caplog.records if r.name == "flask_wtf.csrf")
        if response.status_code != 400 or not said_csrf:
            failures.append((endpoint, method, url, response.status_code))
    assert not failures, f"accepted without a CSRF token: {failures}"
    assert _row_counts() == before  # nothing written by any of them
    assert client.get("/").status_code == 200  # still signed in (logout refused too)


def test_a_token_from_another_session_is_refused(app, world, caplog):
    """The token is bound to the session: one lifted from another browser does not work."""
    attacker = app.test_client()
    stolen = attacker.csrf_token("/login")
    victim = app.test_client()
    victim.post_form("/login", {"username": "everything", "password": factories.PASSWORD})
    with caplog.at_level(logging.INFO, logger="flask_wtf.csrf"):
        response = victim.post("/logout", data={"csrf_token": stolen})
        htmx = victim.post("/notifications/read-all", headers={"HX-Request": "true", "X-CSRFToken": stolen})
    assert response.status_code == 400 and htmx.status_code == 400
    assert victim.get("/").status_code == 200
