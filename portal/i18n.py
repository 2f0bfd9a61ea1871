"""Language choice: the user's own, else the one picked on this browser, else Accept-Language."""
from flask import current_app, has_request_context, request, session
from flask_login import current_user

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, background jobs: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    forced = getattr(request, "forced_locale", None)  # e.g. a client form follows its template
    if forced in languages:
        return forced
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
