from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional, Regexp

from ...forms import DataForm, FilterForm, MultiCheckboxField, int_or_none, str_or_none
from ...labels import LANGUAGE_LABELS
from ...services.quarters import QUARTER_RE

QUARTER = Regexp(QUARTER_RE.pattern, message=_l("Write the quarter as 2026Q4."))


class OpenRoundForm(DataForm):
    """Open a round; the service checks the contacts (client, opt-out) and the due date."""
    quarter = StringField(_l("Quarter"), validators=[DataRequired(), QUARTER])
    version = SelectField(_l("Questionnaire"), coerce=int_or_none,
                          validators=[DataRequired(_l("Pick a questionnaire."))])
    contacts = MultiCheckboxField(_l("Contacts to survey"), coerce=int)
    due_date = DateField(_l("Due date"), validators=[Optional()])

    @classmethod
    def for_project(cls, versions, contacts, **kwargs):
        form = cls(**kwargs)
        form.version.choices = [(v.id, version_label(v)) for v in versions]
        form.contacts.choices = [(c.id, c.name) for c in contacts]
        return form


def version_label(version):
    """The questionnaire as a person reads it, e.g. 'Title · 中文 · version 2' (no raw codes)."""
    language = LANGUAGE_LABELS.get(version.template.language, version.template.language)
    return f"{version.title} · {language} · {_('version %(n)s', n=version.number)}"


class PaperForm(DataForm):
    """The CSRF token and the optional scan; the answers are read by services.answers."""
    scan = FileField(_l("Scan of the paper form (PDF, JPEG or PNG, optional)"))


class RoundFilterForm(FilterForm):
    quarter = SelectField(_l("Quarter"), coerce=str_or_none, validators=[Optional()])

    @classmethod
    def with_quarters(cls, quarters, formdata):
        form = cls(formdata=formdata)
        form.quarter.choices = [("", _l("All quarters")), *((q, q) for q in quarters)]
        return form
