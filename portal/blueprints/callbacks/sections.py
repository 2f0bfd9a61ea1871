"""The callback desk on the quality department's home page: the quarter's calls per priority
against their rates, and the agent's own open calls."""
from ...navigation import home_section
from ...services.callbacks import queue, sampling
from ...services.quarters import current_quarter


@home_section(22, "callbacks/_home.html", roles=("quality",))
def callback_desk(user):
    quarter = current_quarter()
    return {"quarter": quarter, "sample": sampling.quarter_status(quarter),
            "mine": queue.tasks_page(user, quarter=quarter, state="open", mine=True, per_page=1).total}
