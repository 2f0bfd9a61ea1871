"""The public complaint form. Who complains and what is required are checked by
``services.complaints.register_complaint`` (one rule, one message); the form bounds the lengths,
carries the one-time submission key and a honeypot field people never see."""
import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from ...forms import DataForm
from ...services.complaints.intake import DESCRIPTION_MAX

#: evidence files one submission may carry (each checked by services.complaints.read_evidence)
MAX_FILES = 3
#: the visitor names their company and project in free text (never picked from our lists, which
#: would let anyone enumerate them): they open the stored description, within DESCRIPTION_MAX
ABOUT_MAX = 100
TEXT_MAX = DESCRIPTION_MAX - 2 * ABOUT_MAX - 50
KEY = r"^[0-9a-f]{32}$"
#: what the evidence input offers (the content decides, whatever the name says)
ACCEPT = "image/*,audio/*,.pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.heic,.amr,.m4a"


class PublicComplaintForm(DataForm):
    complainant_name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)])
    complainant_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    complainant_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    company = StringField(_l("Your company"), validators=[Optional(), Length(max=ABOUT_MAX)])
    project = StringField(_l("Project or service concerned"), validators=[Optional(), Length(max=ABOUT_MAX)])
    description = TextAreaField(_l("Your complaint"), validators=[Optional(), Length(max=TEXT_MAX)])
    evidence = MultipleFileField(_l("Evidence (optional)"))
    #: one value per page load: the same form sent twice registers one complaint
    submission_key = HiddenField(validators=[Regexp(KEY, message=_l(
        "This form has expired. Reload the page and send it again."))])
    #: hidden from people; a robot that fills it in is thanked and ignored
    website = StringField(_l("Leave this field empty"))

    def issue_key(self):
        self.submission_key.data = secrets.token_hex(16)
        return self

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.submission_key.errors:  # a hidden field: say it above the form
            self.form_errors.extend(self.submission_key.errors)
        return valid

    def complaint_text(self) -> str:
        """The description as stored: the company and project the visitor named, then their text."""
        about = [f"{label}: {value}" for label, value in (
            ("单位 / Company", (self.company.data or "").strip()),
            ("项目 / Project", (self.project.data or "").strip())) if value]
        text = (self.description.data or "").strip()
        if not about or not text:
            return text  # nothing to add, or nothing said: the service asks for a description
        return "\n".join(about) + "\n\n" + text
