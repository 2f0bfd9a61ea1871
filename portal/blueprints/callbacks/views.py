"""Callback desk pages."""
from flask import Blueprint

bp = Blueprint("callbacks", __name__, cli_group=None)  # `flask sample-callbacks`
