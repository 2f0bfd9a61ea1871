"""Service-layer events later features subscribe to instead of patching views.

``response_submitted`` is sent inside the submitting transaction with
``sender=response`` once the response and its answers are flushed; a receiver
that raises aborts the submission. Follow-ups and verification flags attach here:

    from portal.services.hooks import response_submitted
    @response_submitted.connect
    def open_follow_up(response, **extra): ...
"""
from blinker import Namespace

_signals = Namespace()
response_submitted = _signals.signal("response-submitted")
