"""The callback desk on the quality department's home page: the quarter's calls per priority
against their rates, the agent's own open calls, and the key accounts' relationship calls due
today or missed."""
from ...navigation import home_section
from ...services.callbacks import queue, sampling
from ...services.quarters import current_quarter, local_today


@home_section(22, "callbacks/_home.html", roles=("quality",))
def callback_desk(user):
    today = local_today()
    quarter = current_quarter()
    counts = queue.desk_counts(user, quarter, today)
    return {"quarter": quarter, "sample": sampling.quarter_status(quarter), "mine": counts.mine, "counts": counts}
