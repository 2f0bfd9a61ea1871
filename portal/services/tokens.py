"""Client link tokens: 256 random bits, shown once, stored only as SHA-256."""
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits, well above the 128 the policy requires


def new_token() -> tuple[str, str]:
    """A fresh (token, token_hash). Only the hash may be stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
