"""Satisfaction Portal: the application factory."""
import logging
import os
from pathlib import Path

from flask import Flask

from .config import Config, load_secret_key

ROOT = Path(__file__).resolve().parent.parent
HTMX_JS = "js/htmx-2.0.11.min.js"


def create_app(config_object=Config, **overrides):
    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static",
                instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or str(ROOT / "instance"))
    app.config.from_object(config_object)
    app.config.update(overrides)
    _configure_paths(app)
    _configure_trusted_hosts(app)
    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_templating(app)
    register_cli(app)
    logging.basicConfig(level=logging.INFO)
    return app


def _configure_paths(app):
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        from .database import sqlite_uri_for
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_uri_for(app.instance_path)
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")


def _configure_trusted_hosts(app):
    """Refuse (400) requests whose Host is not ours, so no link is ever built from a forged one:
    localhost, 127.0.0.1, the PUBLIC_BASE_URL host and the TRUSTED_HOSTS setting's names."""
    if app.config.get("TRUSTED_HOSTS") is not None:
        return  # set explicitly (e.g. tests)
    from urllib.parse import urlsplit
    hosts = ["localhost", "127.0.0.1", "::1"]
    public = urlsplit(app.config.get("PUBLIC_BASE_URL") or "").hostname
    if public:
        hosts.append(public)
    hosts += [h.strip() for h in (app.config.get("TRUSTED_HOSTS_EXTRA") or "").split(",") if h.strip()]
    app.config["TRUSTED_HOSTS"] = hosts


#: the views that take a ticket export or a history workbook: their body may be as large as
#: CASE_IMPORT_MAX_BYTES (every other request keeps MAX_CONTENT_LENGTH)
LARGE_UPLOADS = frozenset({"cases.upload", "history.upload"})


def _large_upload_limit():
    from flask import current_app, request
    if request.endpoint in LARGE_UPLOADS:
        request.max_content_length = current_app.config["CASE_IMPORT_MAX_BYTES"] + 1024 * 1024


def _connect_timeout(app):
    """PostgreSQL connections give up after DATABASE_CONNECT_TIMEOUT seconds (unless the URL sets
    connect_timeout itself): a page then says the database cannot be reached, soon."""
    from sqlalchemy.engine import make_url
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not uri.startswith("postgresql") or "connect_timeout" in make_url(uri).query:
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"],
                               **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_extensions(app):
    from .database import configure_sqlite
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale
    from .security import load_user
    from flask_babel import lazy_gettext as _l

    from .services import figures_cache
    _connect_timeout(app)
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        figures_cache.install(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True,
                     directory=str(ROOT / "migrations"))
    app.before_request(_large_upload_limit)  # before CSRFProtect's check, which reads the body
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    limiter.init_app(app)
    login_manager.init_app(app)
    from .services import outbound
    outbound.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    """Send to the login page; htmx requests get HX-Redirect so it never lands in a table cell."""
    from flask import flash, request, url_for
    from .extensions import login_manager
    from .htmx import hx_redirect
    if request.path.startswith("/s/") or request.blueprint == "survey":
        from flask import abort
        abort(404)
    flash(login_manager.login_message, "info")
    target = request.full_path if request.method == "GET" else request.headers.get("HX-Current-URL", "/")
    if request.headers.get("HX-Request") == "true":
        from urllib.parse import urlsplit
        target = urlsplit(request.headers.get("HX-Current-URL", "/")).path or "/"
    return hx_redirect(url_for("auth.login", next=target.rstrip("?")), 302)


#: feature blueprints, each a package under portal/blueprints exposing ``bp``
BLUEPRINTS = (
    "main",
    "auth",
    "users",
    "clients",
    "projects",
    "survey",
    "questionnaires",
    "rounds",
    "responses",
    "pdfs",
    "notifications",
    "settings",
    "followups",
    "inquiries",
    "cases",
    "callbacks",
    "jobs",
    "departments",
    "complaints",
    "complaint_form",
    "improvement",
    "key_accounts",
    "verification",
    "rollup",
    "measurement",
    "history",
    "archive",
)


def register_blueprints(app):
    """Every feature's views; ``<int:...>`` in their URLs only matches ids a database can hold."""
    import importlib
    from werkzeug.routing import IntegerConverter
    from .forms import MAX_INT

    class BoundedIntConverter(IntegerConverter):
        """``/projects/99999999999999999999`` is a page that does not exist (404), not a 500."""
        def __init__(self, map, **kwargs):
            kwargs.setdefault("max", MAX_INT)
            super().__init__(map, **kwargs)

    app.url_map.converters["int"] = BoundedIntConverter
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f".blueprints.{name}", __name__).bp)
    from .authz import bind_audit_context
    from .security import set_security_headers
    app.before_request(bind_audit_context)
    app.after_request(set_security_headers)


def register_errors(app):
    from flask import render_template, request
    from flask_wtf.csrf import CSRFError

    from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

    from .models.archive_guard import MESSAGE as ARCHIVE_REFUSAL
    from .services.archive import ArchivedRecord
    from .services.pdf.render import PdfTimeout

    def page(status):
        def handler(error):
            from flask.globals import request_ctx
            from .extensions import db
            try:
                db.session.rollback()
            except SQLAlchemyError:  # the connection is gone: there is nothing to roll back
                pass
            if request_ctx.url_adapter is None:  # e.g. an untrusted Host: no page can be built for it
                return "400 Bad Request: this address is not served here.\n", 400, {"Content-Type": "text/plain"}
            message = error.message if isinstance(error, (PdfTimeout, ArchivedRecord)) else None
            template = "errors/_message.html" if request.headers.get("HX-Request") == "true" else "errors/error.html"
            return render_template(template, status=status, message=message), status
        return handler

    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, page(status))
    app.register_error_handler(CSRFError, page(400))
    app.register_error_handler(PdfTimeout, page(503))
    app.register_error_handler(ArchivedRecord, page(409))  # the flush guard on archived forms

    def database_error(error):
        """The database's archive triggers refused a write: say so (409), as the ORM guard does.
        The database cannot be reached (down, connection lost, SQLite file missing or locked past
        its busy timeout): 503 and "try again", one log line; the next request connects again
        (pool_pre_ping), so the portal recovers by itself when the database is back."""
        if ARCHIVE_REFUSAL in str(error):
            from flask_babel import gettext
            return page(409)(ArchivedRecord(gettext("This record belongs to an archived form: it is read-only.")))
        if isinstance(error, OperationalError) or error.connection_invalidated:
            return database_unavailable(error)
        app.logger.exception("database error")
        return page(500)(error)
    app.register_error_handler(DBAPIError, database_error)

    def database_unavailable(error):
        from flask import g
        from .extensions import login_manager
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["?"])[0][:300]
        app.logger.error("database unavailable (%s %s): %s: %s", request.method, request.path,
                         type(getattr(error, "orig", None) or error).__name__, reason)
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database who it is for
        response = app.make_response(page(503)(error))
        response.headers["Retry-After"] = "60"
        return response


def register_templating(app):
    from flask_babel import format_date, format_datetime, get_locale
    from .i18n import LANGUAGE_NAMES
    from .labels import template_globals
    from .navigation import nav_for
    from flask_login import current_user

    from .services.outbound import shown_body
    from .templating_i18n import init_app as init_templating_i18n
    from .services.scoring import fmt_rate, fmt_score
    app.jinja_env.globals.update(template_globals(), message_body=shown_body, fmt_score=fmt_score, fmt_rate=fmt_rate)
    init_templating_i18n(app)
    app.jinja_env.filters["datetime"] = lambda v, fmt="yyyy-MM-dd HH:mm": format_datetime(v, fmt) if v else ""
    app.jinja_env.filters["date"] = lambda v, fmt="yyyy-MM-dd": format_date(v, fmt) if v else ""

    @app.context_processor
    def _context():
        locale = str(get_locale() or "zh")
        return {
            "htmx_js": HTMX_JS, "current_locale": locale, "language_names": LANGUAGE_NAMES,
            # no user outside a request (the job worker, flask demo rendering a PDF)
            "nav_items": nav_for(current_user) if getattr(current_user, "is_authenticated", False) else [],
        }


def register_cli(app):
    from .cli import register
    register(app)
