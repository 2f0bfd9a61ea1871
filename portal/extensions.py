"""Flask extensions, created unbound; create_app() binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def _serialise_memory_storage_expiry():
    """limits 5.8's MemoryStorage (RATELIMIT_STORAGE_URI=memory://, the default) restarts its expiry
    timer with an unlocked check-then-start: two request threads of one gthread worker can both start
    the same timer, and the request gets RuntimeError "threads can only be started once" (a 500;
    tests/system/test_concurrency.py). Fixed upstream (alisaifee/limits#352), not released yet."""
    import threading
    from limits.storage.memory import MemoryStorage
    schedule = MemoryStorage._MemoryStorage__schedule_expiry
    if getattr(schedule, "serialised", False):
        return
    lock = threading.Lock()

    def serialised(self):
        with lock:
            schedule(self)
    serialised.serialised = True
    MemoryStorage._MemoryStorage__schedule_expiry = serialised


_serialise_memory_storage_expiry()
