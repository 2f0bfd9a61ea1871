"""The job worker's entry point: ``huey_consumer portal.jobs.worker.huey`` (``make run`` starts one
beside gunicorn; on other machines run the same command with the same DATABASE_URL, REDIS_URL
and SECRET_KEY as the web servers). Importing it registers the task and builds the Flask app,
and with it every job handler, before the first job arrives."""
from . import runner, schedule  # noqa: F401  (schedule: the periodic tasks)
from .queue import huey  # noqa: F401  (what huey_consumer looks up)

runner._app()
