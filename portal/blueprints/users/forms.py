from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from ...forms import EMAIL, DataForm, FilterForm, MultiCheckboxField, bool_or_none, choices, str_or_none
from ...labels import LANGUAGE_LABELS, ROLE_LABELS
from ...models import ROLES

ROLE_CHOICES = [(r, ROLE_LABELS[r]) for r in ROLES]
LOCALE_CHOICES = [("", _l("Browser language")), *LANGUAGE_LABELS.items()]


class UserFilterForm(FilterForm):
    role = SelectField(_l("Role"), choices=choices([("", _l("All roles")), *ROLE_CHOICES]), coerce=str_or_none)
    active = SelectField(_l("Status"), coerce=bool_or_none,
                         choices=choices([("", _l("All")), ("1", _l("Enabled")), ("0", _l("Disabled"))]))


class UserEditForm(DataForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254), EMAIL])
    roles = MultiCheckboxField(_l("Roles"), choices=choices(ROLE_CHOICES),
                               validators=[DataRequired(_l("Pick at least one role."))])
    locale = SelectField(_l("Language"), choices=choices(LOCALE_CHOICES), coerce=str_or_none)


class UserCreateForm(UserEditForm):
    username = StringField(_l("User name"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z0-9._@-]+$", message=_l("Letters, digits and . _ @ - only."))])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(DataForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
