"""Home page: what needs this person's attention."""
from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...navigation import nav_item, sections_for

bp = Blueprint("main", __name__)
nav_item(10, "main.home", _l("Home"))  # every signed-in user: the top bar is never empty


@bp.route("/")
@access()
def home():
    """Every home section the user's roles may see, in order."""
    return render_template("main/home.html", sections=sections_for(current_user))


@bp.route("/healthz")
@access(public=True)
def healthz():
    """For load balancers and monitoring: 200 "ok" when this process can reach its database,
    503 when it cannot (no detail: it is public). Sets no cookie, touches no session."""
    from sqlalchemy import text

    from ...extensions import db
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any failure to reach the database is "unhealthy", never a 500 page
        db.session.rollback()
        return "database unavailable\n", 503, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
    return "ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
