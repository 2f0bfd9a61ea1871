"""The complaint forms: staff intake, the list's filters, and one small form per step whose field
names are the keywords of services.complaints.apply. Required values are checked by the service
(one rule, one message); the forms bound lengths and keep selects to their lists."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ...forms import (
    StepForm,
    DataForm,
    FilterForm,
    bool_or_none,
    choices,
    int_or_none,
    str_or_none,
)
from ...labels import (
    COMPLAINT_CHANNEL_LABELS,
    COMPLAINT_STATE_LABELS,
    CONTACT_MODE_LABELS,
    REMEDY_KIND_LABELS,
)
from ...models import COMPLAINT_CHANNELS, COMPLAINT_STATES, CONTACT_MODES, REMEDY_KINDS
from ...services.settings import setting_choices

TEXT = [Optional(), Length(max=4000)]
#: the channels staff register through (the public form has its own page)
STAFF_CHANNELS = tuple(c for c in COMPLAINT_CHANNELS if c != "web_form")


def _how_choices():
    return choices([("", _l("Choose")), *((m, CONTACT_MODE_LABELS[m]) for m in CONTACT_MODES)])


class ComplaintForm(DataForm):
    """Staff intake: the complainant is a contact of the chosen client, or a name with a phone
    number or an e-mail address."""
    channel = SelectField(_l("Channel"), coerce=str_or_none)
    client_id = SelectField(_l("Client"), coerce=int_or_none)
    contact_id = SelectField(_l("Complainant (a contact of the client)"), coerce=int_or_none)
    complainant_name = StringField(_l("Or: the complainant's name"), validators=[Optional(), Length(max=120)])
    complainant_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    complainant_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    project_id = SelectField(_l("Project"), coerce=int_or_none)
    direction = SelectField(_l("Direction"), coerce=str_or_none)
    problem_type = SelectField(_l("Type"), coerce=str_or_none)
    description = TextAreaField(_l("Description"), validators=TEXT)
    major = BooleanField(_l("Major complaint (the executives are told at once)"))
    evidence = FileField(_l("Evidence (recording, photo or document)"))

    def fill(self, clients, contacts, projects):
        locale = str(get_locale() or "zh")
        self.channel.choices = choices([("", _l("Choose")),
                                        *((c, COMPLAINT_CHANNEL_LABELS[c]) for c in STAFF_CHANNELS)])
        self.client_id.choices = choices([("", _l("Choose")), *((c.id, c.name) for c in clients)])
        self.contact_id.choices = choices([("", _l("Not on file")), *((c.id, c.name) for c in contacts)])
        self.project_id.choices = choices([("", _l("No project")),
                                           *((p.id, f"{p.code} {p.name}") for p in projects)])
        self.direction.choices = choices([("", _l("Not classified")),
                                          *setting_choices("problems.directions", locale)])
        self.problem_type.choices = choices([("", _l("Not classified")),
                                             *setting_choices("problems.types", locale)])
        return self


class ComplaintFilterForm(FilterForm):
    state = SelectField(_l("State"), coerce=str_or_none, choices=choices(
        [("", _l("All states")), ("open", _l("Still open")),
         *((s, COMPLAINT_STATE_LABELS[s]) for s in COMPLAINT_STATES)]))
    department_id = SelectField(_l("Department"), coerce=int_or_none)
    overdue = SelectField(_l("Overdue"), coerce=str_or_none,
                          choices=choices([("", _l("Any")), ("1", _l("Overdue only"))]))


# --- the steps -----------------------------------------------------------------------------------

class NoteForm(StepForm):
    note = TextAreaField(_l("Note"), validators=TEXT)


class AcceptForm(StepForm):
    """Accepting names the project when the complainant did not (the public form)."""
    project = SelectField(_l("Project the complaint is about"), coerce=int_or_none)
    note = TextAreaField(_l("Note"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        from ...services.complaints.intake import projects_to_choose
        if complaint.project_id is not None:
            del self.project  # named at intake already
            return
        self.project.choices = choices([("", _l("Choose")), *(
            (p.id, f"{p.code} {p.name} ({p.client.name})") for p in projects_to_choose(complaint))])


class CloseForm(StepForm):
    check_by = SelectField(_l("Check on the handling"), coerce=str_or_none)
    note = TextAreaField(_l("Note"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        from ...services.complaints import default_mode
        from ...services.complaints.messages import complainant_email
        options = [("callback", _l("The quality desk calls the complainant"))]
        if complainant_email(complaint):
            options.insert(0, ("link", _l("A link e-mailed to the complainant")))
        self.check_by.choices = choices(options)
        if not bound:
            self.check_by.data = default_mode(complaint)


class InvalidForm(StepForm):
    reason = TextAreaField(_l("Explanation (sent to the complainant)"), validators=TEXT)


class AssignForm(StepForm):
    department = SelectField(_l("Department"), coerce=int_or_none)
    owner = SelectField(_l("Owner"), coerce=int_or_none)

    def fill(self, complaint, bound, departments=()):
        self.department.choices = choices([("", _l("Choose")), *((d.id, d.name) for d in departments)])
        people = {}
        for d in departments:
            for user in ([d.head] if d.head else []) + list(d.members):
                if user is not None and user.active:
                    people.setdefault(user.id, (user.display_name, []))[1].append(d.name)
        self.owner.choices = choices([("", _l("Choose")), *(
            (uid, f"{name} ({', '.join(names)})") for uid, (name, names) in sorted(
                people.items(), key=lambda item: item[1][0]))])
        if not bound:
            self.department.data, self.owner.data = complaint.department_id, complaint.owner_id


class ContactForm(StepForm):
    how = SelectField(_l("How"), coerce=str_or_none)
    note = TextAreaField(_l("Note"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        self.how.choices = _how_choices()


class WaitForm(StepForm):
    note = TextAreaField(_l("What you are waiting for"), validators=TEXT)


class AnsweredForm(StepForm):
    note = TextAreaField(_l("What the complainant said"), validators=TEXT)


class ComplexForm(StepForm):
    how = SelectField(_l("How the complainant was told"), coerce=str_or_none)
    note = TextAreaField(_l("What the complainant was told"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        self.how.choices = _how_choices()


class InvestigateForm(StepForm):
    findings = TextAreaField(_l("Findings"), validators=TEXT)
    company_fault = SelectField(_l("Company at fault"), coerce=bool_or_none, choices=choices(
        [("", _l("Choose")), ("1", _l("Yes")), ("0", _l("No"))]))
    responsible_employee = StringField(_l("Responsible employee"), validators=[Optional(), Length(max=120)])


class RemedyForm(StepForm):
    kind = SelectField(_l("Kind of remedy"), coerce=str_or_none)
    amount = StringField(_l("Compensation amount"), validators=[Optional(), Length(max=20)])
    text = TextAreaField(_l("Remedy"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        self.kind.choices = choices([("", _l("Choose")), *((k, REMEDY_KIND_LABELS[k]) for k in REMEDY_KINDS)])


class NotifyForm(StepForm):
    how = SelectField(_l("How"), coerce=str_or_none)
    said = TextAreaField(_l("What was said (the outcome, the reasons, what the client can do if not "
                            "satisfied)"), validators=TEXT)

    def fill(self, complaint, bound, departments=()):
        self.how.choices = _how_choices()


class SendBackForm(StepForm):
    reason = TextAreaField(_l("Why it is sent back (what the new proposal must change)"), validators=TEXT)


class ReopenForm(StepForm):
    reason = TextAreaField(_l("Why it is reopened"), validators=TEXT)


STEP_FORMS = {"accept": AcceptForm, "judge_invalid": InvalidForm, "assign": AssignForm,
              "record_contact": ContactForm, "wait_for_complainant": WaitForm,
              "complainant_answered": AnsweredForm, "mark_complex": ComplexForm,
              "investigate": InvestigateForm, "propose_remedy": RemedyForm, "approve": NoteForm,
              "send_back": SendBackForm, "notify_client": NotifyForm, "close": CloseForm, "reopen": ReopenForm}


def step_form(action, complaint, formdata=None, departments=()):
    form = STEP_FORMS[action](formdata=formdata, prefix=action)
    bound = formdata is not None
    if hasattr(form, "fill"):
        form.fill(complaint, bound, departments)
    if not bound:
        form.version.data = complaint.version
    return form
