"""Passwords are stored as Argon2id hashes; the production profile is the strong one."""
import subprocess
import sys

from portal.services.passwords import hash_password, verify_password


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("correct-horse-battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct-horse-battery")
    assert not verify_password(hashed, "wrong")
    assert not verify_password(None, "anything")


def test_production_profile_uses_strong_parameters():
    code = ("import os; os.environ.pop('ARGON2_PROFILE', None);"
            "from portal.services.passwords import hash_password; print(hash_password('x'))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "ARGON2_PROFILE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "m=65536" in out.stdout and "t=3" in out.stdout
