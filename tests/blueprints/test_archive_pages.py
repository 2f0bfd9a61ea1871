"""The archive screens (issue 14): PMO's hand-over and the archive's receipt, a quarter's records
with their flags, the stored PDF served only with a matching checksum, holds in place (htmx),
disposal through its confirmation to the tombstones; and no view of any role changes an archived
form (refused with a clear message, never a 500)."""
import hashlib
from datetime import datetime

import pytest
from flask import url_for

from portal.extensions import db
from portal.models import ROLES, Answer, ArchiveHandover, Response, Tombstone
from portal.services.archive import copies, handover

from .. import factories
from ..services.test_archive import QUARTER, World

LONG_AGO = datetime(2022, 10, 15)  # handed over then: kept until 2025, eligible today


@pytest.fixture
def world(db, app):
    with app.test_request_context():
        yield World()


def _handed_over_long_ago(world):
    world.publish()
    done = handover.hand_over(QUARTER, actor=world.pmo, now=LONG_AGO)
    db.session.commit()
    return done


def test_pmo_hands_over_and_the_archive_confirms_receipt(client, auth, world):
    auth.login("pmo1")
    refused = client.post_form(f"/archive/{QUARTER}/hand-over", token_from="/archive/")
    assert refused.status_code == 422 and "not published" in refused.get_data(as_text=True)
    world.publish()
    page = client.get("/archive/").get_data(as_text=True)
    assert f'id="hand-over-{QUARTER}"' in page
    done = client.post_form(f"/archive/{QUARTER}/hand-over", token_from="/archive/")
    assert done.status_code == 303
    item = db.session.scalar(db.select(ArchiveHandover))
    assert item.responses == 3 and item.job.state == "done"
    page = client.get("/archive/").get_data(as_text=True)
    assert f'data-handover="{item.id}" data-received="no"' in page and f'id="hand-over-{QUARTER}"' not in page
    assert client.post_form(f"/archive/handovers/{item.id}/receive", token_from="/archive/").status_code == 403
    auth.logout()
    auth.login("archive1")
    received = client.post_form(f"/archive/handovers/{item.id}/receive", {"note": "已清点"}, token_from="/archive/")
    assert received.status_code == 303
    assert f'data-handover="{item.id}" data-received="yes"' in client.get("/archive/").get_data(as_text=True)


def test_the_quarter_lists_flags_and_serves_the_checked_pdf(client, auth, world):
    _handed_over_long_ago(world)
    auth.login("archive1")
    html = client.get(f"/archive/{QUARTER}").get_data(as_text=True)
    first = world.forms[0].id
    assert f'id="record-{first}" data-response="{first}" data-flags="archived eligible"' in html
    assert 'name="ids"' in html
    assert client.get(f"/archive/{QUARTER}?flag=retained").get_data(as_text=True).count('id="record-') == 0
    pdf = client.get(f"/archive/records/{first}/pdf")
    form = db.session.get(Response, first)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == form.archive_pdf_sha256 == pdf.headers["X-Checksum-SHA256"]
    copies.copy_path(form.archive_pdf).write_bytes(b"%PDF-1.7 not the archived one")
    damaged = client.get(f"/archive/records/{first}/pdf")
    assert damaged.status_code == 409 and "does not match" in damaged.get_data(as_text=True)
    assert b"not the archived one" not in damaged.data


def test_a_hold_is_placed_and_lifted_in_place(client, auth, world):
    _handed_over_long_ago(world)
    auth.login("archive1")
    form_id = world.forms[1].id
    url = f"/archive/records/{form_id}/hold"
    missing = client.post_form(url, {"action": "place", "reason": ""}, htmx=True, token_from=f"/archive/{QUARTER}")
    assert missing.status_code == 422 and 'role="alert"' in missing.get_data(as_text=True)
    held = client.post_form(url, {"action": "place", "reason": "律师函"}, htmx=True, token_from=f"/archive/{QUARTER}")
    row = held.get_data(as_text=True)
    assert held.status_code == 200 and 'data-flags="archived hold"' in row and 'name="ids"' not in row
    lifted = client.post_form(url, {"action": "lift", "reason": "已撤诉"}, htmx=True, token_from=f"/archive/{QUARTER}")
    assert 'data-flags="archived eligible"' in lifted.get_data(as_text=True)
    auth.logout()
    auth.login("quality1")
    assert client.post_form(url, {"action": "place", "reason": "x"}, token_from="/").status_code == 403


def test_disposal_confirms_the_count_and_dates_then_shows_the_tombstones(client, auth, world):
    _handed_over_long_ago(world)
    auth.login("archive1")
    ids = [str(f.id) for f in world.forms[:2]]
    confirm = client.post_form("/archive/dispose/confirm", {"ids": ids, "quarter": QUARTER},
                               token_from=f"/archive/{QUARTER}")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'data-count="2"' in html
    assert 'id="batch-oldest">2026-08-05<' in html and 'id="batch-newest">2026-08-06<' in html
    no_reason = client.post_form("/archive/dispose", {"ids": ids, "reason": ""}, token_from=f"/archive/{QUARTER}")
    assert no_reason.status_code == 422 and 'aria-invalid="true"' in no_reason.get_data(as_text=True)
    done = client.post_form("/archive/dispose", {"ids": ids, "reason": "保存期满，按制度销毁"},
                            token_from=f"/archive/{QUARTER}")
    assert done.status_code == 303 and "/archive/disposals/" in done.headers["Location"]
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert all(f'data-tombstone="{i}"' in page for i in ids) and "保存期满，按制度销毁" in page
    assert db.session.scalar(db.select(db.func.count(Tombstone.id))) == 2
    assert db.session.scalar(db.select(db.func.count(Answer.id)).where(Answer.response_id.in_([int(i) for i in ids]))) == 0
    assert f'data-tombstone="{ids[0]}"' in client.get(f"/archive/{QUARTER}").get_data(as_text=True)


def test_disposal_before_the_date_is_refused_by_the_server(client, auth, world):
    world.hand_over()  # kept until 2029
    auth.login("archive1")
    ids = [str(world.forms[0].id)]
    page = client.get(f"/archive/{QUARTER}").get_data(as_text=True)
    assert 'name="ids"' not in page  # no checkbox to choose it ...
    refused = client.post_form("/archive/dispose", {"ids": ids, "reason": "强行销毁"}, token_from=f"/archive/{QUARTER}")
    assert refused.status_code == 422 and "kept until 2029-10-15" in refused.get_data(as_text=True)  # ... nor a way
    assert db.session.get(Response, world.forms[0].id).disposed_at is None


#: routes that take an archived form as the start of a new record and leave the form as it is
#: (the snapshot below proves it): quality opens a complaint from what the client wrote
OPENS_OTHER_RECORDS = {"complaints.from_response"}


def _snapshot():
    db.session.expire_all()
    return [(r.id, r.score, r.comment, r.verification_status, r.edit_count, r.quarter,
             tuple(sorted((a.question_id, a.raw_value, a.text_value) for a in r.answers)),
             tuple(a.id for a in r.attachments)) for r in db.session.scalars(db.select(Response).order_by(Response.id))]


def _form_for(endpoint):
    return {"verdict": "rejected", "reason": "改判", "q_attitude": "1", "q_timeliness": "1", "q_technical": "1",
            "response_ids": [], "action": "place"}


def test_no_view_of_any_role_changes_an_archived_form(app, client, auth, world):
    """Every state-changing route that names a response, and the bulk judgement, for every role:
    refused (403/404/409/422), never a 5xx, and the forms exactly as they were."""
    world.hand_over()
    before = _snapshot()
    form_ids = [f.id for f in world.forms]
    with app.test_request_context():
        targets = [url_for(rule.endpoint, response_id=form_ids[1]) for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and "response_id" in rule.arguments
                   and not rule.endpoint.startswith("archive.") and rule.endpoint not in OPENS_OTHER_RECORDS]
    targets.append("/verification/judge")
    assert "/verification/responses/%d" % form_ids[1] in targets and "/responses/%d/correct" % form_ids[1] in targets
    for role in ROLES:
        user = factories.user(f"sweep_{role}", roles=(role,))
        auth.login(user.username)
        for url in targets:
            data = _form_for(url) | {"response_ids": [str(i) for i in form_ids]}
            answer = client.post_form(url, data, token_from="/")
            assert answer.status_code in (403, 404, 409, 422), (role, url, answer.status_code)
            if answer.status_code in (409, 422):
                assert "archived" in answer.get_data(as_text=True), (role, url)
        auth.logout()
    assert _snapshot() == before
