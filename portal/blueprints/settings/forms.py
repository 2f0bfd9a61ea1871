from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from ...forms import DataForm, MultiCheckboxField, choices
from ...services.settings import setting_as_text, setting_from_text, user_choices


class NumberSettingForm(DataForm):
    value = StringField(_l("Value"), validators=[Length(max=40)])


class LinesSettingForm(DataForm):
    value = TextAreaField(_l("Value"), validators=[Length(max=20_000)], render_kw={"rows": 8})


class UsersSettingForm(DataForm):
    value = MultiCheckboxField(_l("Users"), coerce=int)


FORMS = {"int": NumberSettingForm, "float": NumberSettingForm, "list": LinesSettingForm,
         "dates": LinesSettingForm, "priority_map": LinesSettingForm, "user_ids": UsersSettingForm}


def setting_form(spec, value=None, bind=True):
    """The edit form of one setting (its fields prefixed by the key, so every row has its own ids);
    ``bind=False``: an unbound form showing ``value``."""
    form_class = FORMS[spec.kind]
    prefix = spec.key.replace(".", "-")
    form = form_class(prefix=prefix) if bind else form_class(prefix=prefix, formdata=None)
    if spec.kind == "user_ids":
        form.value.choices = choices(user_choices(spec.key))
    if not bind:
        form.value.data = value if spec.kind == "user_ids" else setting_as_text(spec.key, value)
    form.spec = spec
    return form


def typed_value(form):
    """What the form sent, in the setting's type (DomainError at the field when it does not parse)."""
    if form.spec.kind == "user_ids":
        return list(form.value.data or [])
    return setting_from_text(form.spec.key, form.value.data)
