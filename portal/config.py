"""Configuration from environment variables; TestConfig for pytest."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_path):
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None: SQLite file in instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: PostgreSQL: seconds a new connection may take (a database host gone from the network
    #: would otherwise hold a request for the system's TCP timeout, minutes)
    DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "15000"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")  # used in links sent to clients
    #: host names accepted besides localhost, 127.0.0.1 and PUBLIC_BASE_URL's (comma-separated;
    #: ".example.cn" admits its subdomains); any other Host header gets 400
    TRUSTED_HOSTS_EXTRA = os.environ.get("TRUSTED_HOSTS", "")
    TRUSTED_HOSTS = None  # computed from the above by create_app
    #: Secure cookies whenever the portal is published over https (set explicitly to override)
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", (PUBLIC_BASE_URL or "").startswith("https://"))
    SESSION_COOKIE_NAME = "portal_session"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_HOURS", "12")))
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024)))
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")  # None: <instance>/uploads
    #: ticket exports (services/cases): the largest file accepted, and for XLSX the most its
    #: members may unzip to in total (a zip bomb is refused before anything reads it)
    CASE_IMPORT_MAX_BYTES = int(os.environ.get("CASE_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
    CASE_IMPORT_MAX_UNZIPPED = int(os.environ.get("CASE_IMPORT_MAX_UNZIPPED", str(200 * 1024 * 1024)))

    WTF_CSRF_TIME_LIMIT = None  # token bound to the session, which itself expires

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    #: Redis unreachable: each process goes on counting the same limits in its own memory (so with
    #: N processes a limit admits up to N times as much) and logs "Rate limit storage unreachable";
    #: it tries Redis again after 1, 2, 4 ... 32 s and counts there again once it answers
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: an unreachable Redis host costs a request one second, not the system's TCP timeout
    #: (passed to redis.from_url; the in-memory storage ignores them)
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    RATELIMIT_ENABLED = True
    #: coarse flood guard on POST /login per address (Flask-Limiter); guessing is stopped below
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "300 per minute")
    SURVEY_RATE_LIMIT = os.environ.get("SURVEY_RATE_LIMIT", "30 per minute;200 per hour")
    #: the public complaint form (/complaint), per address: complaints registered (refused
    #: submissions do not count), and every request to its pages (submissions included)
    COMPLAINT_FORM_RATE_LIMIT = os.environ.get("COMPLAINT_FORM_RATE_LIMIT", "5 per hour;20 per day")
    COMPLAINT_FORM_PAGE_RATE_LIMIT = os.environ.get("COMPLAINT_FORM_PAGE_RATE_LIMIT", "30 per minute;200 per hour")
    #: failed sign-ins, counted in the database (services/throttle.py): per account for browsers
    #: it has not seen, then a lockout doubling per further failure; per address, much higher
    LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10 per minute;50 per day")
    LOGIN_LOCKOUT_MAX_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MAX_MINUTES", "60"))
    LOGIN_FAILURES_PER_ADDRESS = os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "100 per 10 minutes")
    #: how long a browser that signed in stays known to the account (exempt from its lockout)
    LOGIN_DEVICE_DAYS = int(os.environ.get("LOGIN_DEVICE_DAYS", "365"))
    SURVEY_LINK_FAILURES_PER_ADDRESS = os.environ.get("SURVEY_LINK_FAILURES_PER_ADDRESS",
                                                      "20 per 10 minutes")

    BABEL_DEFAULT_LOCALE = "zh"
    #: where the company works: local dates, quarters and due dates (stored times are UTC)
    PORTAL_TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_TIMEZONE = PORTAL_TIMEZONE
    LANGUAGES = ("zh", "en")

    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "satisfaction-portal@localhost")
    #: number of reverse proxies in front (load balancer): trust that many X-Forwarded-* hops
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))

    #: hard limit on laying out one PDF, and how many render processes each web process keeps
    PDF_TIME_LIMIT = float(os.environ.get("PDF_TIME_LIMIT", "30"))
    PDF_PROCESSES = int(os.environ.get("PDF_PROCESSES", "2"))
    SURVEY_SESSION_MINUTES = int(os.environ.get("SURVEY_SESSION_MINUTES", "120"))
    PAGE_SIZE = 20
    #: keep the busiest pages' figures between writes (services/figures_cache.py); 0 turns it off
    FIGURES_CACHE = os.environ.get("FIGURES_CACHE", "1") != "0"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = True
    SERVER_NAME = None
    TRUSTED_HOSTS = ["localhost", "127.0.0.1", "portal.local", "survey.example.cn"]
