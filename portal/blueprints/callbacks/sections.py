"""The callback desk on the quality department's home page: the quarter's calls per priority
against their rates, the agent's own open calls, and the key accounts' relationship calls due
today or missed."""
from ...navigation import home_section
from ...services.figures_cache import cached
from ...services.callbacks import queue, sampling
from ...services.quarters import current_quarter, local_today


@home_section(22, "callbacks/_home.html", roles=("quality",))
def callback_desk(user):
    today = local_today()
    quarter = current_quarter()
    counts, sample = cached(("callback-desk-home", user.id, quarter, today.isoformat()),
                            lambda: (queue.desk_counts(user, quarter, today), tuple(sampling.quarter_status(quarter))))
    return {"quarter": quarter, "sample": sample, "mine": counts.mine, "counts": counts}
