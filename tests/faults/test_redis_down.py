"""Redis goes away and comes back (issue 15 item 6). The behaviour chosen (portal/config.py,
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED): the portal keeps serving pages and sign-ins; each process
goes on counting the same rate limits in its own memory (so with N processes a limit admits up to
N times as much while Redis is down), and logs "Rate limit storage unreachable - falling back to
in-memory storage"; it tries Redis again after 1, 2, 4 ... 32 s and, once Redis answers, logs
"Rate limit storage recovered" and counts there again. The failed-sign-in throttles are counted
in the database and do not depend on Redis at all.

The scenario runs in a process of its own (the limiter is one object per process, and this test
must not leave the session app's limiter on Redis), on a copy of the seeded demo, with Redis
reached through a forwarder it stops and starts.
"""
import json
import subprocess
import sys
import uuid

import pytest
from sqlalchemy.engine import make_url

from .conftest import DEMO_PASSWORD, ROOT

pytestmark = pytest.mark.xdist_group("faults")  # one worker: the demo is seeded once (conftest)

from ..test_rate_limit_redis import REDIS_URL, _redis_or_skip  # noqa: E402  (the same Redis, or skip / fail under CI)

SCENARIO = r"""
import json, logging, sys, time
import redis
from tests.faults.proxy import Proxy

redis_host, redis_port, redis_db, prefix, password = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
proxy = Proxy(redis_port, redis_host).start()
direct = redis.Redis(host=redis_host, port=redis_port, db=int(redis_db))
messages = []

class Collect(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())

logging.getLogger("flask-limiter").addHandler(Collect())

from portal import create_app
from portal.config import Config

app = create_app(Config, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{proxy.port}/{redis_db}",
                 RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_LIMIT="5 per minute", WTF_CSRF_ENABLED=False)
english = {"Accept-Language": "en"}
staff, stranger = app.test_client(), app.test_client()


def guess():
    return stranger.post("/login", data={"username": "nobody", "password": "x" * 12}, headers=english).status_code


def in_redis():
    return sum(int(direct.get(key) or 0) for key in direct.scan_iter(f"*{prefix}*"))


out = {"up": [guess(), guess()]}
out["redis_while_up"] = in_redis()

proxy.stop()
started = time.monotonic()
out["sign_in_while_down"] = staff.post("/login", data={"username": "pm1", "password": password},
                                       headers=english).status_code
out["sign_in_seconds"] = time.monotonic() - started
out["home_while_down"] = staff.get("/", headers=english).status_code
out["complaint_form_while_down"] = stranger.get("/complaint", headers=english).status_code
out["down"] = [guess() for _ in range(6)]
out["redis_while_down"] = in_redis()
out["logged_while_down"] = list(messages)

proxy.start()
deadline = time.monotonic() + 45
while "Rate limit storage recovered" not in messages and time.monotonic() < deadline:
    stranger.get("/login", headers=english)
    time.sleep(0.25)
out["recovered_after"] = round(time.monotonic() - (deadline - 45), 1)
out["after"] = [guess()]
out["redis_after"] = in_redis()
out["logged"] = messages
for key in direct.scan_iter(f"*{prefix}*"):
    direct.delete(key)
proxy.close()
print(json.dumps(out))
"""



def test_redis_down_the_portal_serves_and_counts_in_memory_then_in_redis_again(seeded):
    _redis_or_skip()
    portal = seeded("sqlite")
    url = make_url(REDIS_URL)
    prefix = f"portal-faults-{uuid.uuid4().hex}"
    done = subprocess.run([sys.executable, "-c", SCENARIO, url.host or "127.0.0.1", str(url.port or 6379),
                           str(url.database or 0), prefix, DEMO_PASSWORD],
                          cwd=ROOT, env=portal.env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["up"] == [422, 422] and out["redis_while_up"] == 2  # counted in Redis
    # Redis gone: pages and sign-ins go on, without waiting for Redis
    assert out["sign_in_while_down"] == 303 and out["sign_in_seconds"] < 5
    assert out["home_while_down"] == 200 and out["complaint_form_while_down"] == 200
    assert "Rate limit storage unreachable - falling back to in-memory storage" in out["logged_while_down"]
    # the login limit (5 per minute) still applies, counted in this process's memory from the
    # moment Redis went: the sign-in above, four guesses, then refused
    assert out["down"] == [422] * 4 + [429] * 2
    assert out["redis_while_down"] == 2
    # Redis back: counted there again (the in-memory count no longer applies)
    assert "Rate limit storage recovered" in out["logged"], out
    assert out["after"] == [422] and out["redis_after"] == 3
