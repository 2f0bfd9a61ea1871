"""The verification queue (DESIGN §4.5.1), for the quality department: a quarter's forms with the
portal's suspicion flags; each verified or rejected in place (htmx swaps its row), or several at
once from the checked rows. Rejected forms count in no figure."""
from flask import Blueprint, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...forms import int_param, page_param
from ...htmx import hx_redirect, is_partial, render
from ...models import Response
from ...navigation import nav_item
from ...services import DomainError
from ...services import verification as service
from ...services.quarters import current_quarter, parse_quarter
from ...services.verification.queue import STATES

bp = Blueprint("verification", __name__, url_prefix="/verification")
DESK = ("quality",)
PER_PAGE = 50

nav_item(33, "verification.index", _l("Verification"), roles=DESK)


def _filters(args):
    quarter = (args.get("quarter") or "").strip().upper() or current_quarter()
    try:
        parse_quarter(quarter)
    except (DomainError, ValueError):
        quarter = current_quarter()
    state = args.get("state") or "pending"
    flag = args.get("flag") or None
    return service.QueueFilters(quarter=quarter, state=None if state == "all" else (state if state in STATES else "pending"),
                                flag=flag if flag in (*service.FLAG_CODES, "any") else None,
                                project_id=int_param(args, "project_id"))


def _list(filters, status=200, *, message=None, errors=None):
    result = service.queue_page(filters, page=page_param(request.values), per_page=PER_PAGE)
    return render("verification/index.html", "verification/_results.html", status=status, f=filters, q=result,
                  message=message, errors=errors or {}, flag_codes=service.FLAG_CODES, states=STATES)


@bp.route("/")
@access(*DESK)
def index():
    """A quarter's forms to verify, with their flags; filters by state and flag (htmx: the table)."""
    return _list(_filters(request.args))


@bp.route("/judge", methods=["POST"])
@access(*DESK)
def judge():
    """Verify or reject the checked forms (a rejection needs its reason); all or nothing."""
    filters = _filters(request.form)
    ids = [int(i) for i in request.form.getlist("response_ids") if i.isdigit()]
    try:
        changed = service.judge(ids, request.form.get("verdict"), actor=current_user,
                                reason=request.form.get("reason"))
    except DomainError as error:
        db.session.rollback()
        return _list(filters, 422, errors={error.field or "form": error.message})
    db.session.commit()
    if not is_partial():
        return hx_redirect(url_for(".index", quarter=filters.quarter))
    return _list(filters, message=_l("%(n)d forms judged.", n=len(changed)))


@bp.route("/responses/<int:response_id>", methods=["POST"])
@access(*DESK)
def judge_one(response_id):
    """Verify or reject one form in place: htmx gets its row back (422 with the error in the row)."""
    response = db.session.get(Response, response_id) or abort(404)
    error = None
    try:
        service.judge([response], request.form.get("verdict"), actor=current_user,
                      reason=request.form.get("reason"))
    except DomainError as failed:
        db.session.rollback()
        error = failed.message
        response = db.session.get(Response, response_id)
    else:
        db.session.commit()
    if not is_partial() and error:
        return _list(_filters({"quarter": response.quarter, "state": "all"}), 422, errors={"form": error})
    if not is_partial():
        return hx_redirect(url_for(".index", quarter=response.quarter))
    return render("verification/_row.html", "verification/_row.html", status=422 if error else 200, r=response,
                  flags=service.flags_for([response.id]).get(response.id, []), row_error=error)
