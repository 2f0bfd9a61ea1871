"""The key-account forms; field names are the keywords of services.key_accounts. Required values
are checked by the service (one rule, one message); the forms bound lengths."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, FileField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from ...forms import DataForm, StepForm, choices, int_or_none
from ...labels import LANGUAGE_LABELS
from ...models import REPORT_LANGUAGES

TEXT = [Optional(), Length(max=2000)]


class ProposeForm(DataForm):
    action = HiddenField(validators=[AnyOf(("designate", "withdraw"))])
    business_volume = TextAreaField(_l("Business volume"), validators=TEXT)
    cooperation_potential = TextAreaField(_l("Cooperation potential"), validators=TEXT)
    industry_influence = TextAreaField(_l("Industry influence"), validators=TEXT)
    reason = TextAreaField(_l("Why (free text)"), validators=TEXT)


class WithdrawForm(DataForm):
    action = HiddenField(default="withdraw", validators=[AnyOf(("withdraw",))])
    reason = TextAreaField(_l("Why the status should end"), validators=TEXT)


class DecideForm(DataForm):
    note = TextAreaField(_l("Your note (it goes on the record)"), validators=TEXT)
    verdict = HiddenField(validators=[AnyOf(("approve", "decline"))])


def _user_choices(users):
    return choices([("", _l("Nobody yet")), *((u.id, u.display_name) for u in users)])


class TeamForm(StepForm):
    pm = SelectField(_l("Project manager"), coerce=int_or_none)
    service_contact = SelectField(_l("Customer-service contact"), coerce=int_or_none)
    engineer = SelectField(_l("On-site engineer"), coerce=int_or_none)
    sales = SelectField(_l("Sales"), coerce=int_or_none)

    def fill(self, account, people, bound):
        self.pm.choices = _user_choices(people["pm"])
        self.sales.choices = _user_choices(people["sales"])
        self.service_contact.choices = self.engineer.choices = _user_choices(people["all"])
        if not bound:
            self.pm.data, self.sales.data = account.pm_id, account.sales_id
            self.service_contact.data, self.engineer.data = account.service_contact_id, account.engineer_id


class ScheduleForm(StepForm):
    every_weeks = IntegerField(_l("Call every (weeks)"), validators=[Optional(), NumberRange(min=0, max=999)])
    starts_on = DateField(_l("First call on"), validators=[Optional()])
    contact = SelectField(_l("Contact to call"), coerce=int_or_none)
    project = SelectField(_l("Recorded on project"), coerce=int_or_none)
    report_language = SelectField(_l("Language of the service report"),
                                  choices=choices((code, LANGUAGE_LABELS[code]) for code in REPORT_LANGUAGES))

    def fill(self, account, contacts, projects, bound):
        self.contact.choices = choices([("", _l("Choose")), *((c.id, c.name) for c in contacts)])
        self.project.choices = choices([("", _l("Choose")), *((p.id, f"{p.code} {p.name}") for p in projects)])
        if not bound:
            self.every_weeks.data, self.starts_on.data = account.callback_every_weeks, account.callback_starts_on
            self.contact.data, self.project.data = account.callback_contact_id, account.callback_project_id
            self.report_language.data = account.report_language


class PlanForm(StepForm):
    text = TextAreaField(_l("Service plan"), validators=[Optional(), Length(max=20000)])
    file = FileField(_l("Plan document (PDF, Office document or image)"))

    def fill(self, account, bound):
        if not bound:
            self.text.data = account.plan_text


class ApprovePlanForm(StepForm):
    agreed_on = DateField(_l("Agreed with the client on"), validators=[Optional()])
