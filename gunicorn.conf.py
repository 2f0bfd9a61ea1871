# Read by gunicorn from the working directory (make run starts it from the repo root).
logger_class = "portal.access_log.RedactingLogger"
