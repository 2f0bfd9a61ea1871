"""With RATELIMIT_STORAGE_URI pointing at Redis, login attempts are counted there, so
separate worker processes share one budget (DESIGN §9: no state in process memory)."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import json, os, re, sys
from portal import create_app
from portal.config import TestConfig
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI=sys.argv[1],
                 RATELIMIT_KEY_PREFIX=sys.argv[2], LOGIN_RATE_LIMIT="5 per minute")
from portal.extensions import db
codes = []
with app.app_context():
    db.create_all()
client = app.test_client()
html = client.get("/login").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
for _ in range(int(sys.argv[3])):
    codes.append(client.post("/login", data={"username": "nobody", "password": "x" * 12,
                                              "csrf_token": token}).status_code)
print(json.dumps(codes))
"""


def _redis_or_skip():
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI=true: it must be)")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")


def _worker(prefix, attempts):
    out = subprocess.run([sys.executable, "-c", WORKER, REDIS_URL, prefix, str(attempts)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "ARGON2_PROFILE": "fast"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_login_limit_is_shared_between_worker_processes_through_redis():
    _redis_or_skip()
    prefix = f"portal-test-{uuid.uuid4().hex}"
    first = _worker(prefix, 3)
    second = _worker(prefix, 4)
    assert first == [422] * 3
    assert second == [422, 422, 429, 429]  # the second process sees the first one's attempts
