"""Key-account pages: the list of accounts and proposals, a proposal and its decision, an
account's team, plan and schedule."""
from flask import Blueprint

bp = Blueprint("key_accounts", __name__, url_prefix="/key-accounts")
