from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import EMAIL, DataForm, FilterForm, bool_or_none, choices
from ...labels import CONTACT_FUNCTION_LABELS, LANGUAGE_LABELS
from ...models import CONTACT_FUNCTIONS


class ClientFilterForm(FilterForm):
    key_account = SelectField(_l("Key account"), coerce=bool_or_none, choices=choices([
        ("", _l("All clients")), ("1", _l("Key accounts only")), ("0", _l("Other clients"))]))


class ClientForm(DataForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    # no key-account box: a client becomes one by proposal and an executive's approval
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])


class ContactForm(DataForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    function = SelectField(_l("Function"),
                           choices=choices((f, CONTACT_FUNCTION_LABELS[f]) for f in CONTACT_FUNCTIONS))
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254), EMAIL])
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_LABELS.items()))
    opted_out = BooleanField(_l("Opted out (receives no questionnaires)"))
