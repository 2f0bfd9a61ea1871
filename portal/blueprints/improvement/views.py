from flask import Blueprint

bp = Blueprint("improvement", __name__, url_prefix="/improvement")
