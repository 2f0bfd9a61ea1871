"""The measurement plan's pages (quality edits; PMO, exec and admin read)."""
from flask import Blueprint

bp = Blueprint("measurement", __name__, url_prefix="/measurement-plans")
