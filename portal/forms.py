"""Form helpers shared by the feature forms: one base form that refuses NUL characters,
GET filter forms, bounded integer parameters, multi-checkbox fields, and turning a
service's DomainError into an error beside the right field."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SearchField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

#: the largest id or page number a request may name (PostgreSQL's integer); larger is "not found"
MAX_INT = 2_147_483_647
MAX_PAGE = 100_000
NUL_MESSAGE = _l("This text contains a character that cannot be stored (NUL). Please remove it.")

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address."))


def choices(pairs):
    """(value, label) pairs as the SelectChoice objects WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


def str_or_none(value):
    return value or None


def bool_or_none(value):
    """'1' → True, '0' → False, anything empty → None (no filter)."""
    if value in (None, "", "None"):
        return None
    return value in (True, "1", "true", "yes", "y", "on")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def int_param(args, name, default=None, *, lo=1, hi=MAX_INT):
    """An integer query parameter within [lo, hi], else ``default`` (a bad value is ignored)."""
    try:
        value = int(args.get(name, ""))
    except (TypeError, ValueError):
        return default
    return value if lo <= value <= hi else default


def page_param(args, name="page"):
    """The page number a list is asked for: 1 unless the parameter is a sane page number."""
    return int_param(args, name, 1, hi=MAX_PAGE)


class PortalForm(FlaskForm):
    """Base of every form: a text containing NUL (which PostgreSQL cannot store) is refused at its field."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self._fields.values():
            if isinstance(field, StringField) and isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid


class DataForm(PortalForm):
    """A form whose ``values()`` are the keyword arguments of the service it feeds."""

    def values(self):
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}

    def show_error(self, error):
        """Put a DomainError's message beside its field (or above the form if it names none)."""
        field = self._fields.get(error.field) if error.field else None
        if field is None:
            self.form_errors.append(error.message)
        else:
            field.errors = [*field.errors, error.message]


class StepForm(DataForm):
    """A workflow step's form (follow-ups, complaints): carries the version the actor saw, for the 'changed meanwhile' check."""
    version = HiddenField(validators=[DataRequired()])

    def values(self):
        values = super().values()
        values.pop("version", None)
        return values


class FilterForm(PortalForm):
    """A list screen's search/filter form: bound to the query string, no CSRF (it only reads).
    Values that do not validate are ignored rather than failing the page."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def filters(self):
        self.validate()
        return {name: (None if field.errors else field.data) for name, field in self._fields.items()}
