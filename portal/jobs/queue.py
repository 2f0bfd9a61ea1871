"""The one Huey instance of the portal, configured from the environment (the worker process
imports it without a Flask app): ``huey_consumer portal.jobs.queue.huey``.

- ``REDIS_URL`` set: RedisHuey on that server (several web and worker machines share it);
- otherwise SqliteHuey in ``PORTAL_INSTANCE_PATH``/jobs.sqlite3 (one machine, no extra server);
- ``JOBS_IMMEDIATE=1``: tasks run in the calling process at once (tests, `flask` commands).
"""
import os
from pathlib import Path

from huey import RedisHuey, SqliteHuey

NAME = "satisfaction-portal"


def _instance_path() -> Path:
    default = Path(__file__).resolve().parent.parent.parent / "instance"
    return Path(os.environ.get("PORTAL_INSTANCE_PATH") or default)


def make_huey():
    immediate = os.environ.get("JOBS_IMMEDIATE", "").lower() in ("1", "true", "yes")
    redis_url = os.environ.get("REDIS_URL")
    if redis_url and not immediate:
        return RedisHuey(NAME, url=redis_url, results=False)
    path = _instance_path()
    path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(path / "jobs.sqlite3"), results=False, immediate=immediate)


huey = make_huey()
