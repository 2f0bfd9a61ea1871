"""The access log never contains a client's link token."""
from types import SimpleNamespace

from gunicorn.config import Config

from portal.access_log import RedactingLogger, redact

TOKEN = "Yc3-9kPq_ZtR0aVb7nLm2sXw4eHu6jDf8gKo1iTy5AB"


def test_redact_replaces_only_the_token():
    assert redact(f"GET /s/{TOKEN} HTTP/1.1") == "GET /s/[redacted] HTTP/1.1"
    assert redact("GET /survey HTTP/1.1") == "GET /survey HTTP/1.1"
    assert redact(None) is None


def test_gunicorn_access_line_has_no_token(capsys):
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = RedactingLogger(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/s/{TOKEN}", "PATH_INFO": f"/s/{TOKEN}",
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.9",
               "HTTP_REFERER": f"https://portal.example/s/{TOKEN}", "HTTP_USER_AGENT": "phone"}
    resp = SimpleNamespace(status="303 See Other", response_length=0, sent=0, headers=[])
    req = SimpleNamespace(headers=[], method="GET", path=f"/s/{TOKEN}", query="", version=(1, 1))
    logger.access(resp, req, environ, __import__("datetime").timedelta(seconds=0.01))
    line = capsys.readouterr().out
    assert "/s/[redacted]" in line and TOKEN not in line


def test_gunicorn_loads_the_redacting_logger():
    from pathlib import Path
    conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
    namespace = {}
    exec(conf.read_text(), namespace)
    assert namespace["logger_class"] == "portal.access_log.RedactingLogger"
