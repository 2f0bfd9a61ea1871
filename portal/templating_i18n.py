"""Template text in a language other than the viewer's.

A questionnaire speaks its template's language to everyone (DESIGN §8): a PM reading a
Chinese form in the English UI still sees 必答. Templates wrap such parts in

    {% call in_language(version.template.language) %} ... {{ _("Required") }} ... {% endcall %}

so the strings stay ordinary ``_()`` calls (extracted into the catalog like any other) and are
translated under the forced locale.
"""
from flask_babel import force_locale


def in_language(lang, caller):
    """Render the call block's body with ``lang`` as the locale; the viewer's locale returns after."""
    with force_locale(lang):
        return caller()


def init_app(app):
    app.jinja_env.globals["in_language"] = in_language
