"""The inquiry form: its own fields here; the sales_visit answers are read by services.answers."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ...forms import DataForm, MultiCheckboxField, choices, int_or_none, str_or_none
from ...labels import CONTACT_FUNCTION_LABELS, INQUIRY_MODE_LABELS
from ...models import INQUIRY_MODES
from ...services.sales_inquiries import DESCRIPTION_LIMIT, InquiryInput
from ...services.major_problems import NOTE_LIMIT

KEY = Regexp(r"^[A-Za-z0-9_-]{16,64}$", message=_l("This form is damaged; reload the page."))


def trigger_label(trigger):
    """'Project completion (2026-03-31)' or 'Key milestone reached: 上线 (2026-03-01)'."""
    from ...labels import INQUIRY_TRIGGER_LABELS
    label = str(INQUIRY_TRIGGER_LABELS[trigger.kind])
    if trigger.milestone is not None:
        label = f"{label}: {trigger.milestone.name}"
    return f"{label} ({trigger.on.isoformat()})" if trigger.on else label


class InquiryForm(DataForm):
    inquired_on = DateField(_l("Date of the inquiry"), validators=[Optional()])
    mode = SelectField(_l("How"), coerce=str_or_none,
                       choices=choices([("", _l("Choose")), *((m, INQUIRY_MODE_LABELS[m]) for m in INQUIRY_MODES)]))
    trigger = SelectField(_l("Follows"), coerce=str_or_none)
    contacts = MultiCheckboxField(_l("Client people met or spoken to"), coerce=int)
    respondent = SelectField(_l("Whose answers the form holds"), coerce=int_or_none)
    on_behalf = BooleanField(_l("Filled in on the client's behalf after a verbal inquiry"))
    major_problem = BooleanField(_l("Major problem: escalate to senior management now"))
    major_problem_description = TextAreaField(_l("Describe the major problem"),
                                              validators=[Optional(), Length(max=DESCRIPTION_LIMIT)])
    version = HiddenField(validators=[DataRequired()])
    submission_key = HiddenField(validators=[DataRequired(), KEY])

    def fill(self, triggers, contacts):
        self.trigger.choices = choices([("", _l("Choose")), *((t.key, trigger_label(t)) for t in triggers)])
        people = [(c.id, f"{c.name} · {CONTACT_FUNCTION_LABELS.get(c.function, c.function)}") for c in contacts]
        self.contacts.choices = people
        self.respondent.choices = choices([("", _l("Choose")), *people])
        return self

    def inquiry_input(self) -> InquiryInput:
        return InquiryInput(
            inquired_on=self.inquired_on.data, mode=self.mode.data, trigger=self.trigger.data,
            contact_ids=list(self.contacts.data or []), respondent_id=self.respondent.data,
            on_behalf=bool(self.on_behalf.data), major_problem=bool(self.major_problem.data),
            major_problem_description=self.major_problem_description.data,
            submission_key=self.submission_key.data)

    def show_errors(self, errors):
        """InquiryInvalid's messages beside their fields."""
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]


class AcknowledgeForm(DataForm):
    note = TextAreaField(_l("Your note: what happens now"), validators=[Optional(), Length(max=NOTE_LIMIT)])
