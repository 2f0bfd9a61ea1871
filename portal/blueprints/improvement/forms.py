"""The improvement plan forms: a new plan, the list's filters, and one small form per step whose
field names are the keywords of the service functions. Required values are checked by the
service (one rule, one message); the forms bound lengths and keep selects to their lists."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ...forms import DataForm, FilterForm, StepForm, choices, int_or_none, str_or_none
from ...labels import DIMENSION_LABELS
from ...models import DIMENSIONS, INTERNAL_CAUSES, PLAN_STATES, ROOT_CAUSES
from .labels import CAUSE_GROUP_LABELS, CHECK_RESULT_LABELS, PLAN_STATE_LABELS, ROOT_CAUSE_LABELS

TEXT = [Optional(), Length(max=4000)]
DATE = [Optional()]
REFS = re.compile(r"[\s,;，；]+")


def _root_causes():
    def group(cause):
        return CAUSE_GROUP_LABELS["internal" if cause in INTERNAL_CAUSES else "external"]
    return choices([("", _l("Choose")), *((c, f"{group(c)}: {ROOT_CAUSE_LABELS[c]}") for c in ROOT_CAUSES)])


def _people(departments):
    people = {}
    for d in departments:
        for user in ([d.head] if d.head else []) + list(d.members):
            if user is not None and user.active:
                people.setdefault(user.id, (user.display_name, []))[1].append(d.name)
    return choices([("", _l("Choose")), *((uid, f"{name} ({', '.join(names)})") for uid, (name, names)
                                          in sorted(people.items(), key=lambda item: item[1][0]))])


class PlanFields:
    """The plan's own fields, shared by the new-plan form and the edit step."""
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    goal = TextAreaField(_l("Goal"), validators=TEXT)
    measures = TextAreaField(_l("Measures"), validators=TEXT)
    root_cause = SelectField(_l("Root-cause category"), coerce=str_or_none)
    dimension = SelectField(_l("Score dimension to lift"), coerce=str_or_none)
    department = SelectField(_l("Owner department"), coerce=int_or_none)
    responsible = SelectField(_l("Responsible person"), coerce=int_or_none)
    due_on = DateField(_l("Due date"), validators=DATE)

    def fill_plan(self, departments):
        self.root_cause.choices = _root_causes()
        self.dimension.choices = choices([("", _l("None")), *((d, DIMENSION_LABELS.get(d, d)) for d in DIMENSIONS)])
        self.department.choices = choices([("", _l("Choose")), *((d.id, d.name) for d in departments)])
        self.responsible.choices = _people(departments)


class PlanForm(PlanFields, DataForm):
    """A new plan with the follow-ups and complaints it groups (numbers; complaints by reference too)."""
    followups = StringField(_l("Follow-ups (numbers, separated by commas)"),
                            validators=[Optional(), Length(max=1000)])
    complaints = StringField(_l("Complaints (references or numbers, separated by commas)"),
                             validators=[Optional(), Length(max=1000)])

    def refs(self, name):
        return [r for r in REFS.split(self._fields[name].data or "") if r]


class PlanFilterForm(FilterForm):
    state = SelectField(_l("State"), coerce=str_or_none, choices=choices(
        [("", _l("All states")), ("active", _l("Not closed")), *((s, PLAN_STATE_LABELS[s]) for s in PLAN_STATES)]))
    department_id = SelectField(_l("Department"), coerce=int_or_none)
    check_due = SelectField(_l("Checks"), coerce=str_or_none,
                            choices=choices([("", _l("Any")), ("1", _l("A check is due"))]))


# --- the steps -----------------------------------------------------------------------------------

class EditForm(PlanFields, StepForm):
    def fill(self, plan, bound, departments=()):
        self.fill_plan(departments)
        if not bound:
            for name in ("title", "goal", "measures", "root_cause", "dimension", "due_on"):
                self._fields[name].data = getattr(plan, name)
            self.department.data, self.responsible.data = plan.department_id, plan.responsible_id


class AddItemForm(StepForm):
    followup = StringField(_l("Follow-up number"), validators=[Optional(), Length(max=12)])
    complaint = StringField(_l("Or: complaint reference or number"), validators=[Optional(), Length(max=20)])


class RemoveItemForm(StepForm):
    item = HiddenField()


class MeasuresDoneForm(StepForm):
    on = DateField(_l("Measures done on"), validators=DATE)


class CheckForm(StepForm):
    check = SelectField(_l("Check"), coerce=int_or_none, validate_choice=False)
    result = SelectField(_l("Result"), coerce=str_or_none, choices=choices(
        [("", _l("Choose")), *CHECK_RESULT_LABELS.items()]))
    note = TextAreaField(_l("What the figures show (required when not effective)"), validators=TEXT)

    def fill(self, plan, bound, departments=(), due=()):
        self.check.choices = choices([(c.id, _l("%(days)d-day check, due %(day)s", days=c.day_offset,
                                                day=c.due_on.isoformat())) for c in due])


class CloseForm(StepForm):
    note = TextAreaField(_l("Note"), validators=TEXT)


class ReviseForm(StepForm):
    measures = TextAreaField(_l("New measures"), validators=TEXT)
    reason = TextAreaField(_l("Why the measures are revised"), validators=TEXT)
    due_on = DateField(_l("New due date"), validators=DATE)

    def fill(self, plan, bound, departments=(), due=()):
        if not bound:
            self.measures.data = plan.measures


STEP_FORMS = {"edit": EditForm, "add_item": AddItemForm, "remove_item": RemoveItemForm,
              "mark_measures_done": MeasuresDoneForm, "record_check": CheckForm, "close": CloseForm,
              "revise": ReviseForm}


def step_form(step, plan, formdata=None, *, departments=(), due=()):
    form = STEP_FORMS[step](formdata=formdata, prefix=step)
    bound = formdata is not None
    if isinstance(form, EditForm):
        form.fill(plan, bound, departments)
    elif hasattr(form, "fill"):
        form.fill(plan, bound, departments, due)
    if not bound:
        form.version.data = plan.version
    return form
