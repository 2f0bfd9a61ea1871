"""The historical results import's pages (quality)."""
from flask import Blueprint

bp = Blueprint("history", __name__, url_prefix="/history")
