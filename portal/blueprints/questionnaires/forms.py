from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ...forms import DataForm, FilterForm, bool_or_none, choices, str_or_none
from ...labels import DIMENSION_LABELS, LANGUAGE_LABELS, QUESTION_TYPE_LABELS, TEMPLATE_KIND_LABELS
from ...models import DIMENSIONS, QUESTION_TYPES, TEMPLATE_KINDS

KIND_CHOICES = [(k, TEMPLATE_KIND_LABELS[k]) for k in TEMPLATE_KINDS]
LANGUAGE_CHOICES = list(LANGUAGE_LABELS.items())


class TemplateFilterForm(FilterForm):
    kind = SelectField(_l("Kind"), choices=choices([("", _l("All kinds")), *KIND_CHOICES]), coerce=str_or_none)
    language = SelectField(_l("Language"), choices=choices([("", _l("All languages")), *LANGUAGE_CHOICES]),
                           coerce=str_or_none)
    archived = SelectField(_l("Archived"), coerce=bool_or_none,
                           choices=choices([("", _l("Hide archived")), ("1", _l("Show archived"))]))


class TemplateForm(DataForm):
    kind = SelectField(_l("Kind"), choices=choices(KIND_CHOICES), validators=[DataRequired()])
    language = SelectField(_l("Language of the form"), choices=choices(LANGUAGE_CHOICES),
                           validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("Title shown to the client"), validators=[DataRequired(), Length(max=200)])
    intro = TextAreaField(_l("Introduction shown to the client"), validators=[Optional(), Length(max=4000)])


class DetailsForm(DataForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("Title shown to the client"), validators=[DataRequired(), Length(max=200)])
    intro = TextAreaField(_l("Introduction shown to the client"), validators=[Optional(), Length(max=4000)])


class QuestionForm(DataForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    text = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=500)])
    type = SelectField(_l("Type"), choices=choices((t, QUESTION_TYPE_LABELS[t]) for t in QUESTION_TYPES),
                       validators=[DataRequired()])
    scale = SelectField(_l("Scale (scale and yes/no questions)"), choices=[], validate_choice=False)
    dimension = SelectField(_l("Dimension"), coerce=str_or_none,
                            choices=choices([("", _l("None")), *((d, DIMENSION_LABELS[d]) for d in DIMENSIONS)]))
    choices = TextAreaField(_l("Options, one per line (choice questions)"),
                            validators=[Optional(), Length(max=4000)])
    required = BooleanField(_l("Required"), default=True)
    allow_na = BooleanField(_l("Offer “not applicable”"))

    def __init__(self, *args, scales=(), **kwargs):
        super().__init__(*args, **kwargs)
        zh = str(get_locale() or "zh") == "zh"
        self.scale.choices = choices([("", _l("None"))] + [
            (str(s.id), s.name_zh if zh else s.name_en) for s in scales])

    @classmethod
    def from_question(cls, question, scales, **kwargs):
        return cls(scales=scales, data={
            "code": question.code, "text": question.text, "type": question.type,
            "scale": str(question.scale_id or ""), "dimension": question.dimension or "",
            "choices": "\n".join(question.choices or []), "required": question.required,
            "allow_na": question.allow_na}, **kwargs)


class MoveForm(DataForm):
    direction = HiddenField(validators=[AnyOf(("up", "down"))])


class ArchiveForm(DataForm):
    archived = HiddenField(validators=[AnyOf(("0", "1"))])
