from flask import Blueprint

bp = Blueprint("complaint_form", __name__)
