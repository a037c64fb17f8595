"""What check-config warns about in a valid config: secrets not set, too few threads for the peak rate."""
from __future__ import annotations

import os

from deskdraft.settings.model import Config
from deskdraft.settings.sections import QueueSettings

# Tickets a second one worker thread drafts with a ~2 s model call (fetch, route, retrieve, draft, post):
# 32 threads drafted 10.4/s in the load run of issue #19 (4 threads: 1.8/s). Sizing check only.
TICKETS_PER_THREAD_SECOND = 0.32


def missing_secrets(config: Config) -> list[str]:
    """Environment variables the config names that are not set (warnings, not errors)."""
    missing = []
    for account in config.helpdesks.values():
        for env in (account.api_token_env, account.webhook_secret_env):
            if not os.environ.get(env):
                missing.append(f"{env} (helpdesks.{account.name})")
    return missing


def capacity_warning(queue: QueueSettings) -> str | None:
    """check-config's warning when queue.concurrency cannot reach queue.peak_per_second."""
    reach = queue.concurrency * TICKETS_PER_THREAD_SECOND
    if not queue.peak_per_second or reach >= queue.peak_per_second:
        return None
    need = -(-queue.peak_per_second // TICKETS_PER_THREAD_SECOND)
    return (f"queue.concurrency {queue.concurrency} drafts about {reach:.1f} tickets/s "
            f"({TICKETS_PER_THREAD_SECOND}/s per thread with a ~2 s model), under queue.peak_per_second "
            f"{queue.peak_per_second:g}: set concurrency to {int(need)} or more (max 64 per worker)")
