"""The rollup's pages."""
from flask import Blueprint

bp = Blueprint("rollup", __name__, url_prefix="/rollup")
