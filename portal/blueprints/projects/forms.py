from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import DataForm, FilterForm, choices, int_or_none, str_or_none
from ...labels import PROJECT_STATUS_LABELS
from ...models import PROJECT_STATUSES
from ...services.projects import filter_choices, form_choices

STATUS_CHOICES = [(s, PROJECT_STATUS_LABELS[s]) for s in PROJECT_STATUSES]


def _people(users):
    return [(u.id, u.display_name) for u in users]


def _clients(clients):
    return [(c.id, c.name) for c in clients]


class ProjectFilterForm(FilterForm):
    status = SelectField(_l("Status"), coerce=str_or_none,
                         choices=choices([("", _l("All statuses")), *STATUS_CHOICES]))
    pm_id = SelectField(_l("Project manager"), coerce=int_or_none)
    client_id = SelectField(_l("Client"), coerce=int_or_none)

    @classmethod
    def for_user(cls, user, formdata):
        """Pickers list only the PMs and clients of projects ``user`` can see."""
        form = cls(formdata=formdata)
        options = filter_choices(user)
        form.pm_id.choices = choices([("", _l("All project managers")), *_people(options["pms"])])
        form.client_id.choices = choices([("", _l("All clients")), *_clients(options["clients"])])
        return form


class ProjectForm(DataForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    client_id = SelectField(_l("Client"), coerce=int_or_none, validators=[DataRequired()])
    pm_id = SelectField(_l("Project manager"), coerce=int_or_none, validators=[DataRequired()])
    sales_id = SelectField(_l("Sales owner"), coerce=int_or_none)
    status = SelectField(_l("Status"), choices=choices(STATUS_CHOICES))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])

    @classmethod
    def for_project(cls, project=None):
        """The form with its pickers: clients, active PMs and sales (plus the project's current ones)."""
        form = cls(obj=project)
        options = form_choices(project)
        form.client_id.choices = choices([("", _l("Choose a client")), *_clients(options["clients"])])
        form.pm_id.choices = choices([("", _l("Choose a project manager")), *_people(options["pms"])])
        form.sales_id.choices = choices([("", _l("No sales owner")), *_people(options["sales"])])
        return form


class MilestoneForm(DataForm):
    name = StringField(_l("Milestone"), validators=[DataRequired(), Length(max=200)])
    planned_date = DateField(_l("Planned date"), validators=[Optional()])
    reached_date = DateField(_l("Reached on"), validators=[Optional()])
    is_key = BooleanField(_l("Key milestone (makes the project due for a sales inquiry)"))


class ReachedForm(DataForm):
    reached_date = DateField(_l("Reached on"), validators=[Optional()])
