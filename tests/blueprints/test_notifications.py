"""Notification screens: each user's own list (full page and htmx fragment), the top bar's
unread badge, marking read with htmx, and nobody else's notifications (DESIGN §4.2.3, §4.4)."""
from datetime import datetime

import pytest

from portal.models import Notification
from portal.services.notifications import notify

HX = {"HX-Request": "true"}


@pytest.fixture
def pm(make, auth):
    user = make.user("pm_n", roles=("pm",), locale="en")
    auth.login("pm_n")
    return user


def _notify(db, user, subject="Follow-up overdue", **kw):
    n = notify(user, "followup_overdue", subject, kw.pop("body", "Call the client back."),
               link=kw.pop("link", "/projects/"), email=False, **kw)
    db.session.commit()
    return n


def test_the_list_shows_your_notifications_unread_marked(client, db, pm, make):
    other = make.user("pm_o", roles=("pm",))
    _notify(db, pm, "Old one", now=datetime(2026, 12, 1, 8, 0)).read_at = datetime(2026, 12, 1, 9, 0)
    db.session.commit()
    _notify(db, pm, "New one", now=datetime(2026, 12, 2, 8, 0))
    _notify(db, other, "Someone else's")
    page = client.get("/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert html.index("New one") < html.index("Old one") and "Someone else's" not in html
    assert html.count('class="card notification unread"') == 1
    assert "1 unread" in html and "Mark all read" in html and 'href="/projects/"' in html
    fragment = client.get("/notifications?page=1", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and "New one" in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_list_pages(client, db, pm, app):
    for day in range(1, app.config["PAGE_SIZE"] + 3):
        _notify(db, pm, f"n-{day:02d}", now=datetime(2026, 11, day, 8, 0))
    html = client.get("/notifications?page=2", headers=HX).get_data(as_text=True)
    assert "n-01" in html and "n-22" not in html and "Page 2 of 2" in html
    assert client.get("/notifications?page=x").status_code == 200


def test_the_badge_fragment_counts_unread_and_is_empty_at_zero(client, db, pm):
    page = client.get("/").get_data(as_text=True)
    assert 'id="notification-badge"' in page and 'hx-get="/notifications/count"' in page
    assert 'hx-trigger="load, every 60s' in page
    assert client.get("/notifications/count", headers=HX).get_data(as_text=True).strip() == ""
    _notify(db, pm)
    _notify(db, pm)
    response = client.get("/notifications/count", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'href="/notifications"' in html and ">2</a>" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_mark_read_with_htmx_answers_the_updated_row(client, db, pm):
    n = _notify(db, pm)
    response = client.post_form(f"/notifications/{n.id}/read", htmx=True, token_from="/notifications")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert f'id="notification-{n.id}"' in html and "unread" not in html and "Mark read" not in html
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert db.session.get(Notification, n.id).read_at is not None


def test_mark_read_as_a_plain_form_redirects_to_the_list(client, db, pm):
    n = _notify(db, pm)
    response = client.post_form(f"/notifications/{n.id}/read", token_from="/notifications")
    assert response.status_code == 303 and response.headers["Location"].endswith("/notifications")
    assert db.session.get(Notification, n.id).read_at is not None


def test_mark_read_needs_the_csrf_token(client, db, pm):
    n = _notify(db, pm)
    assert client.post(f"/notifications/{n.id}/read", headers=HX).status_code == 400
    assert db.session.get(Notification, n.id).read_at is None


def test_mark_all_read_answers_the_updated_list(client, db, pm, make):
    other = make.user("pm_o", roles=("pm",))
    for _ in range(3):
        _notify(db, pm)
    theirs = _notify(db, other)
    response = client.post_form("/notifications/read-all", htmx=True, token_from="/notifications")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "0 unread" in html and "Mark all read" not in html
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert db.session.get(Notification, theirs.id).read_at is None
    assert client.get("/notifications/count").get_data(as_text=True).strip() == ""


def test_another_users_notification_is_not_found(client, db, pm, make):
    other = make.user("pm_o", roles=("pm",))
    theirs = _notify(db, other)
    response = client.post_form(f"/notifications/{theirs.id}/read", htmx=True, token_from="/notifications")
    assert response.status_code == 404
    assert db.session.get(Notification, theirs.id).read_at is None
    assert client.post_form("/notifications/999999/read", token_from="/notifications").status_code == 404


@pytest.mark.parametrize("url", ["/notifications", "/notifications/count"])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_mark_read_is_sent_to_sign_in(client, db, make):
    n = _notify(db, make.user("pm_o", roles=("pm",)))
    response = client.post_form(f"/notifications/{n.id}/read")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.get(Notification, n.id).read_at is None


def test_the_page_reads_in_chinese(client, db, make, auth):
    user = make.user("pm_zh", roles=("pm",), locale="zh")
    auth.login("pm_zh")
    _notify(db, user)
    html = client.get("/notifications").get_data(as_text=True)
    assert "通知" in html and "标为已读" in html and "全部标为已读" in html
