"""Gunicorn access logging that never writes a client's link token to disk.

Tokens are stored only as hashes; an access log line with ``/s/<token>`` would
undo that, so the token part of such paths (and of referrers) is replaced.
"""
import re

from gunicorn.glogging import Logger

TOKEN_PATH = re.compile(r"(/[sk]/)[^/?#\s\"]+")  # client survey links /s/, complaint-check links /k/


def redact(text):
    return TOKEN_PATH.sub(r"\1[redacted]", text) if isinstance(text, str) else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        return {key: redact(value) for key, value in
                super().atoms(resp, req, environ, request_time).items()}
