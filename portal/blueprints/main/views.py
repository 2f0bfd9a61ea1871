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
