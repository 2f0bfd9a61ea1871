"""Security headers, safe `next` redirects, session loading that honours revocation."""
import hmac
from urllib.parse import urlsplit

from flask import url_for

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'; frame-ancestors 'none'")


def safe_next(target):
    """`target` if it is a path on this site, else the home page."""
    if not target:
        return url_for("main.home")
    target = target.strip()
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/")
            or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target)):
        return url_for("main.home")
    return target


def set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def load_user(session_id):
    """Flask-Login user_loader: the id carries the user's session token, so rotating it revokes cookies."""
    from .extensions import db
    from .models import User
    try:
        user_id, token = session_id.split(":", 1)
        user = db.session.get(User, int(user_id))
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or not hmac.compare_digest(user.session_token, token):
        return None
    return user
