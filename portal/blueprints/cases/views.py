"""Ticket import pages."""
from flask import Blueprint

bp = Blueprint("cases", __name__, cli_group=None)  # `flask import-cases`
