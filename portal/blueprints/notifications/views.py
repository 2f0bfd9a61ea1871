"""Your notifications: the list, the unread badge in the top bar, marking them read.
Every signed-in user sees only their own."""
from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, is_partial, render
from ...models import Notification
from ...services import notifications as service

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
#: htmx event that makes the top-bar badge count again
CHANGED = "notifications-changed"


def get_notification_or_404(notification_id):
    """Your notification, 404 if missing or someone else's (whose existence is not revealed)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    return notification


@bp.route("")
@access()
def index():
    """Your notifications, newest first, the unread ones marked; htmx gets the list only."""
    return _list_page()


@bp.route("/count")
@access()
def count():
    """The top-bar badge's content: the unread count (nothing at 0); polled by htmx."""
    response = render("notifications/_count.html", unread=service.unread_count(current_user))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:notification_id>/read", methods=["POST"])
@access()
def mark_read(notification_id):
    """Mark one of your notifications read; htmx gets the updated row."""
    notification = get_notification_or_404(notification_id)
    service.mark_read(notification, current_user)
    db.session.commit()
    if not is_partial():
        return hx_redirect(url_for(".index"))
    return _changed(render("notifications/index.html", "notifications/_item.html", n=notification))


@bp.route("/read-all", methods=["POST"])
@access()
def mark_all_read():
    """Mark all your notifications read; htmx gets the updated list."""
    service.mark_all_read(current_user)
    db.session.commit()
    if not is_partial():
        return hx_redirect(url_for(".index"))
    return _changed(_list_page())


def _list_page():
    page = page_param(request.args)
    pages = service.notifications_page(current_user, page, current_app.config["PAGE_SIZE"])
    return render("notifications/index.html", "notifications/_list.html", pages=pages,
                  unread=service.unread_count(current_user))


def _changed(response):
    response.headers["HX-Trigger"] = CHANGED
    return response
