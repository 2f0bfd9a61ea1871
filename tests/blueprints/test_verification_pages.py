"""The verification queue's pages: the list with flags and filters, one form judged in place (its
row back, 422 in the row without a reason), several at once, and who is refused."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import Response
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

HX = {"HX-Request": "true"}


@pytest.fixture
def forms(make, db):
    make.user("vp_quality", roles=("quality",))
    make.user("vp_pm", roles=("pm",))
    project = make.project()
    version = make.template_version()
    contact = make.contact(project.client, name="王建国")
    made = []
    for n, seconds in enumerate((12, 900, 900)):
        parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"}, complete=True)
        made.append(submit_response(version, parsed, channel="online", project=project, contact=contact,
                                    submitted_at=datetime(2026, 11, 10, 2, n), client_ip=f"10.0.0.{n}",
                                    started_at=datetime(2026, 11, 10, 2, n) - timedelta(seconds=seconds)))
    db.session.commit()
    return made


def test_the_queue_shows_the_flags_and_filters_by_them(client, auth, forms):
    auth.login("vp_quality")
    page = client.get("/verification/?quarter=2026Q4").get_data(as_text=True)
    assert all(f'data-response="{f.id}"' in page for f in forms) and 'data-flag="fast"' in page
    flagged = client.get("/verification/?quarter=2026Q4&flag=any", headers=HX).get_data(as_text=True)
    assert "<html" not in flagged and f'data-response="{forms[0].id}"' in flagged
    assert f'data-response="{forms[1].id}"' not in flagged


def test_one_form_is_judged_in_place(client, auth, forms, db):
    auth.login("vp_quality")
    url = f"/verification/responses/{forms[0].id}"
    missing = client.post_form(url, {"verdict": "rejected"}, htmx=True, token_from="/verification/")
    assert missing.status_code == 422 and 'role="alert"' in missing.get_data(as_text=True)
    done = client.post_form(url, {"verdict": "rejected", "reason": "客户否认填写"}, htmx=True,
                            token_from="/verification/")
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and html.lstrip().startswith("<tr") and 'data-state="rejected"' in html
    db.session.expire_all()
    assert db.session.get(Response, forms[0].id).verification_reason == "客户否认填写"


def test_several_forms_at_once(client, auth, forms, db):
    auth.login("vp_quality")
    response = client.post_form("/verification/judge", {"verdict": "authentic", "quarter": "2026Q4",
                                                         "response_ids": [str(forms[1].id), str(forms[2].id)]},
                                htmx=True, token_from="/verification/")
    assert response.status_code == 200
    db.session.expire_all()
    states = dict(db.session.execute(select(Response.id, Response.verification_status)).all())
    assert states == {forms[0].id: "pending", forms[1].id: "authentic", forms[2].id: "authentic"}
    none_chosen = client.post_form("/verification/judge", {"verdict": "authentic"}, htmx=True,
                                   token_from="/verification/")
    assert none_chosen.status_code == 422


def test_only_the_quality_department_reaches_it(client, auth, forms):
    auth.login("vp_pm")
    assert client.get("/verification/").status_code == 403
    assert client.post_form(f"/verification/responses/{forms[0].id}", {"verdict": "authentic"}, htmx=True,
                            token_from="/").status_code == 403
