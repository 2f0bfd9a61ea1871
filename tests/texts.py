"""UI text as a Chinese user sees it, for assertions on pages that follow a zh template."""
from flask_babel import force_locale, gettext


def zh(msgid, **variables):
    with force_locale("zh"):
        return gettext(msgid, **variables)


def zh_prefix(msgid, variable):
    """The translated text before ``%(variable)s`` (for messages with a time or a name in them)."""
    return zh(msgid, **{variable: "\x00"}).split("\x00")[0]
