from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...forms import DataForm, MultiCheckboxField, choices, int_or_none
from ...services.departments import NAME_MAX


def user_choices(users):
    """(id, name) of users to pick from; an inactive one is marked so."""
    return choices((u.id, u.display_name if u.active else _l("%(name)s (inactive)", name=u.display_name))
                   for u in users)


class DepartmentForm(DataForm):
    """Name and head; ``active`` only when editing (a new department is active)."""
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    head = SelectField(_l("Head"), coerce=int_or_none)
    active = BooleanField(_l("Enabled"))

    def set_users(self, users):
        self.head.choices = choices([("", _l("No head"))]) + user_choices(users)
        return self


class MembersForm(DataForm):
    members = MultiCheckboxField(_l("Members"), coerce=int)

    def set_users(self, users):
        self.members.choices = user_choices(users)
        return self
