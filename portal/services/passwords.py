"""Password hashing with Argon2id (argon2-cffi).

The default parameters are argon2-cffi's RFC 9106 low-memory profile. The test suite sets
``ARGON2_PROFILE=fast`` (still Argon2id, much cheaper) so thousands of test logins stay quick.
"""
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = (PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
           if os.environ.get("ARGON2_PROFILE") == "fast" else PasswordHasher())
#: a real hash to verify against when the user does not exist, so timing does not reveal it
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_session_token() -> str:
    return secrets.token_hex(16)
