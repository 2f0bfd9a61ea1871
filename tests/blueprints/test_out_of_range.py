"""Out-of-range and hostile input never gives a 5xx: ids and page numbers past what a database
holds, quarters and dates in year 9999, NUL characters in any text field. Every route in the
URL map is swept, so routes added later are covered too."""
import importlib
import inspect
import pkgutil

import pytest
from wtforms import Form

import portal.blueprints
from portal.extensions import limiter

from .test_authorization_matrix import _build_world, _login, _resolve, _routes

HUGE = "99999999999999999999"
HOSTILE_QUERY = {"page": HUGE, "round": HUGE, "q": "a\x00b", "quarter": "9999Q4", "status": "\x00",
                 "client": HUGE, "pm": HUGE, "role": "\x00", "active": HUGE, "kind": "\x00"}
USERS = ("pm_b", "sales_b", "r_quality", "r_admin", "r_pmo")


def _form_field_names():
    """Every field name of every form class the blueprints define."""
    names = set()
    for module_info in pkgutil.walk_packages(portal.blueprints.__path__, "portal.blueprints."):
        if not module_info.name.endswith(".forms"):
            continue
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Form):
                names |= {n for n, v in vars(cls).items() if hasattr(v, "field_class")}
                names |= {n for base in cls.__mro__ for n, v in vars(base).items() if hasattr(v, "field_class")}
    return names - {"csrf_token"}


@pytest.fixture
def world(app, db):
    limiter.enabled = False
    yield _build_world()
    limiter.enabled = True


def test_ids_past_the_database_range_are_not_found(app, world):
    client, _ = _login(app, "r_admin")
    swept = 0
    for rule, method in _routes(app):
        if not any(rule._converters[a].__class__.__name__ == "BoundedIntConverter" for a in rule.arguments):
            continue
        values = {a: (HUGE if rule._converters[a].__class__.__name__ == "BoundedIntConverter" else "x" * 43)
                  for a in rule.arguments}
        url = _build(rule, values)
        response = client.open(url, method=method)
        assert response.status_code in (404, 405), (method, url, response.status_code)
        swept += 1
    assert swept > 20


def _build(rule, values):
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


@pytest.mark.parametrize("username", USERS)
def test_hostile_query_strings_never_give_a_5xx(app, world, username):
    client, _ = _login(app, username)
    with app.test_request_context():
        urls = [_resolve(rule, world) for rule, method in _routes(app) if method == "GET"]
    assert len(urls) > 20
    for url in urls:
        status = client.get(url, query_string=HOSTILE_QUERY).status_code
        assert status < 500, (username, url, status)


@pytest.mark.parametrize("value", ["a\x00b", HUGE, "9999-12-31", "9999Q4", "-" + HUGE])
@pytest.mark.parametrize("username", ("pm_b", "r_admin", "r_quality"))
def test_hostile_form_values_never_give_a_5xx(app, world, username, value):
    client, token = _login(app, username)
    names = _form_field_names()
    assert {"quarter", "due_date", "name", "q"} <= names
    with app.test_request_context():
        cases = [(_resolve(rule, world), method) for rule, method in _routes(app) if method == "POST"]
    data = {name: value for name in names}
    data.update({f"q_{code}": value for code in ("attitude", "timeliness", "technical", "opinion")})
    for url, method in cases:
        response = client.open(url, method=method, data={**data, "csrf_token": token})
        assert response.status_code < 500, (username, url, value, response.status_code)


def test_a_nul_in_a_text_field_is_a_field_error(app, world, db):
    client, token = _login(app, "r_admin")
    response = client.post("/clients/new", data={"csrf_token": token, "name": "坏\x00名字"})
    assert response.status_code == 422
    assert "cannot be stored (NUL)" in response.get_data(as_text=True)


def test_a_round_in_year_9999_is_refused_beside_its_fields(app, world, db):
    client, token = _login(app, "pm_b")
    project_id = world.ids["project"]
    response = client.post(f"/projects/{project_id}/rounds/new",
                           data={"csrf_token": token, "quarter": "9999Q4", "due_date": "9999-12-31",
                                 "version": str(world.ids["version"]), "contacts": str(world.ids["contact"])})
    assert response.status_code == 422
    assert "a year from 2000 to 2100" in response.get_data(as_text=True)
    response = client.post(f"/projects/{project_id}/rounds/new",
                           data={"csrf_token": token, "quarter": "2026Q4", "due_date": "9999-12-31",
                                 "version": str(world.ids["version"]), "contacts": str(world.ids["contact"])})
    assert response.status_code == 422
    assert "within 90 days after the quarter ends" in response.get_data(as_text=True)
