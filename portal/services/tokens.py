"""Client link tokens: 256 random bits. Looked up by SHA-256; kept encrypted at rest
(Fernet: AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY, so the PM can
show and copy the same link again. A database dump alone yields no usable link."""
import base64
import hashlib
import hmac
import secrets
from typing import Optional

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

TOKEN_BYTES = 32  # 256 bits, well above the 128 the policy requires
_KEY_INFO = b"satisfaction-portal/invitation-token/v1"


def new_token() -> tuple[str, str]:
    """A fresh (token, token_hash)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def _fernet(secret_key=None) -> Fernet:
    secret = secret_key or current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret.encode("utf-8") if isinstance(secret, str) else secret)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_token(token: str, secret_key=None) -> str:
    return _fernet(secret_key).encrypt(token.encode("ascii")).decode("ascii")


def decrypt_token(ciphertext: Optional[str], secret_key=None) -> Optional[str]:
    """The token, or None when there is none or it was encrypted under another SECRET_KEY."""
    if not ciphertext:
        return None
    try:
        return _fernet(secret_key).decrypt(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        return None
