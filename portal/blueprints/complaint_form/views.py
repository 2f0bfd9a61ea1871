"""The public complaint form (DESIGN §4.7): a client complains without an account. CSRF on the
form, rate limited per address, bounded sizes; the complaint lands in the quality desk's intake
queue (channel ``web_form``). Nothing is readable back: the thank-you page shows this browser the
reference once, and no page looks a complaint up."""
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from ...authz import access
from ...extensions import db, limiter
from ...services import DomainError
from ...services import complaints as service

bp = Blueprint("complaint_form", __name__)
DONE_KEY = "complaint_registered"  # the reference, shown once on the thank-you page


def _limit():
    return current_app.config.get("COMPLAINT_FORM_RATE_LIMIT", "5 per hour")


class PublicComplaintForm(FlaskForm):
    complainant_name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)])
    complainant_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    complainant_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    company = StringField(_l("Your company"), validators=[Optional(), Length(max=120)])
    project = StringField(_l("Project or service concerned"), validators=[Optional(), Length(max=120)])
    description = TextAreaField(_l("Your complaint"), validators=[Optional(), Length(max=3500)])


@bp.errorhandler(CSRFError)
def _form_expired(error):
    db.session.rollback()
    return render_template("survey/message.html", reason="expired"), 400


@bp.errorhandler(429)
def _too_many(error):
    db.session.rollback()
    return render_template("survey/message.html", reason="rate_limited"), 429


@bp.route("/complaint", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_limit, methods=["POST"])
def public_form():
    form = PublicComplaintForm()
    if request.method == "POST" and form.validate_on_submit():
        company, project = (form.company.data or "").strip(), (form.project.data or "").strip()
        about = "; ".join(part for part in (f"{_('Company')}: {company}" if company else "",
                                            f"{_('Project')}: {project}" if project else "") if part)
        description = (form.description.data or "").strip()
        try:
            complaint = service.register_complaint(
                channel="web_form", by_user=None, description=f"{about}\n{description}" if about and description
                else description, complainant_name=form.complainant_name.data,
                complainant_phone=form.complainant_phone.data, complainant_email=form.complainant_email.data)
        except DomainError as error:
            db.session.rollback()
            target = getattr(form, error.field, None) if error.field else None
            (target.errors if target is not None else form.form_errors).append(error.message)
        else:
            db.session.commit()
            session[DONE_KEY] = complaint.reference
            return redirect(url_for(".thanks"), 303)
        return render_template("complaint_form/form.html", form=form), 422
    status = 422 if request.method == "POST" else 200
    return render_template("complaint_form/form.html", form=form), status


@bp.route("/complaint/thanks")
@access(public=True)
def thanks():
    reference = session.pop(DONE_KEY, None)
    if not isinstance(reference, str):
        return redirect(url_for(".public_form"), 303)
    return render_template("complaint_form/thanks.html", reference=reference)
