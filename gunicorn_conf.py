"""gunicorn settings (`gunicorn --config python:gunicorn_conf`): access lines with a UTC timestamp and the
request's time, and the Prometheus multiprocess clean-up when a worker exits."""
from __future__ import annotations

import os
from typing import Any

access_log_format = '%(t)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's live gauges must not be summed any more; its counters stay in the totals.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
