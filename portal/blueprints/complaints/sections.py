"""The quality desk's home page: closed complaints whose complainant waits for the call that
checks how the complaint was handled."""
from ...navigation import home_section
from ...services import complaints as service


@home_section(23, "complaints/_home_calls.html", roles=("quality",))
def complaint_check_calls(user):
    calls = service.calls_waiting()
    return {"calls": calls} if calls else None
