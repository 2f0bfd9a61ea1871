"""Business rules as plain functions: no request, no templates; they flush, views commit."""


class DomainError(Exception):
    """A rule was broken. ``field`` names the form field the message belongs to, if any."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field
