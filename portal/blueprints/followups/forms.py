"""One small form per step of a follow-up; field names are the keywords of services.followups.apply.
Required values are checked by the service (one rule, one message), the forms bound lengths."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from ...forms import FilterForm, StepForm, choices, int_or_none, str_or_none
from ...labels import CONTACT_MODE_LABELS, FOLLOWUP_STATE_LABELS
from ...models import CONTACT_MODES, FOLLOWUP_STATES
from ...services.departments import department_choices
from ...services.followups import escalation_recipients
from ...services.settings import setting_choices

TEXT = [Optional(), Length(max=4000)]


class ClassifyForm(StepForm):
    direction = SelectField(_l("Direction"), coerce=str_or_none)
    problem_type = SelectField(_l("Type"), coerce=str_or_none)

    def fill(self, followup, bound):
        locale = str(get_locale() or "zh")
        self.direction.choices = choices([("", _l("Not classified")),
                                          *setting_choices("problems.directions", locale)])
        self.problem_type.choices = choices([("", _l("Not classified")),
                                             *setting_choices("problems.types", locale)])
        if not bound:
            self.direction.data, self.problem_type.data = followup.direction, followup.problem_type


class ContactForm(StepForm):
    how = SelectField(_l("How"), coerce=str_or_none,
                      choices=choices([("", _l("Choose")), *((m, CONTACT_MODE_LABELS[m]) for m in CONTACT_MODES)]))
    note = TextAreaField(_l("What the client said"), validators=TEXT)


class CauseForm(StepForm):
    cause = TextAreaField(_l("Cause"), validators=TEXT)
    corrective_action = TextAreaField(_l("Corrective action"), validators=TEXT)
    preventive_action = TextAreaField(_l("Preventive action"), validators=TEXT)

    def fill(self, followup, bound):
        if not bound:
            self.cause.data, self.corrective_action.data = followup.cause, followup.corrective_action
            self.preventive_action.data = followup.preventive_action


class EscalateForm(StepForm):
    to = SelectField(_l("Executive"), coerce=int_or_none)
    reason = TextAreaField(_l("Why you cannot resolve it"), validators=TEXT)

    def fill(self, followup, bound):
        self.to.choices = choices([("", _l("Choose")), *((u.id, u.display_name) for u in escalation_recipients())])


class RouteForm(StepForm):
    department = SelectField(_l("Department"), coerce=int_or_none)
    note = TextAreaField(_l("What the department should do"), validators=TEXT)

    def fill(self, followup, bound):
        self.department.choices = choices([("", _l("Choose")), *(
            (d.id, d.name) for d in department_choices(active_only=True) if d.id != followup.department_id)])


class AnswerForm(StepForm):
    answer = TextAreaField(_l("Your answer (it goes on the record)"), validators=TEXT)


class NoteForm(StepForm):
    note = TextAreaField(_l("Note"), validators=TEXT)


class ReopenForm(StepForm):
    reason = TextAreaField(_l("Why it is reopened"), validators=TEXT)


STEP_FORMS = {"classify": ClassifyForm, "route": RouteForm, "record_contact": ContactForm, "record_cause_and_actions": CauseForm,
              "escalate": EscalateForm, "answer_escalation": AnswerForm, "resolve": NoteForm,
              "verify": NoteForm, "reopen": ReopenForm}


def step_form(action, followup, formdata=None):
    form = STEP_FORMS[action](formdata=formdata, prefix=action)
    bound = formdata is not None
    if hasattr(form, "fill"):
        form.fill(followup, bound)
    if not bound:
        form.version.data = followup.version
    return form


class FollowUpFilterForm(FilterForm):
    state = SelectField(_l("State"), coerce=str_or_none, choices=choices(
        [("", _l("All states")), ("active", _l("Not resolved yet")),
         *((s, FOLLOWUP_STATE_LABELS[s]) for s in FOLLOWUP_STATES)]))
    project_id = IntegerField(_l("Project"), validators=[Optional()])
    owner_id = SelectField(_l("Project manager"), coerce=int_or_none)
    #: "" every department, "mine" the user's departments' queue, or a department's id
    department_id = SelectField(_l("Department"), coerce=str_or_none)
    overdue = SelectField(_l("Overdue"), coerce=str_or_none,
                          choices=choices([("", _l("Any")), ("1", _l("Overdue only"))]))
    reopened = SelectField(_l("Reopened"), coerce=str_or_none,
                           choices=choices([("", _l("Any")), ("2", _l("Reopened twice or more"))]))


class PmoHomeFilterForm(FilterForm):
    """The PMO home's follow-up counts for one project and/or one PM."""
    project_id = SelectField(_l("Project"), coerce=int_or_none)
    owner_id = SelectField(_l("Project manager"), coerce=int_or_none)
