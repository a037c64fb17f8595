"""Gunicorn settings for the webhook server: scripts/run and the end-to-end tests both start it with this file.

Slow clients: a sync worker is held by one connection for as long as the client trickles its headers or body, so
two slow clients stalled the default two workers. gthread workers give each connection a thread instead; a
connection that sends nothing for 5 s goes back to the poller, one that trickles keeps its thread, so the bound is
`workers x threads` trickling connections (128 here; the test holds 50 and checks a valid delivery still takes
under a second). Past that, put a proxy that buffers whole requests (nginx does by default) in front.
"""
import os

bind = os.environ.get("DESKDRAFT_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("DESKDRAFT_WEB_WORKERS", "2"))
threads = int(os.environ.get("DESKDRAFT_WEB_THREADS", "64"))
timeout = 30  # gthread's main loop keeps the heartbeat while threads wait on clients: only a hung worker dies
graceful_timeout = 10
keepalive = 5

accesslog = "-"
# Never %(u)s: Freshdesk's rule may send our shared secret as the basic-auth user. Never %(r)s or %(q)s: a query
# string can carry anything. Method, path, protocol, status, size, milliseconds, user agent.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def on_starting(server):
    """Create the tables once in the master, before the workers fork: two workers booting together on a new
    SQLite file would both try CREATE TABLE and one would fail to boot."""
    from deskdraft.settings import load_config
    from deskdraft.state import State

    State(load_config().database_url).dispose()


def child_exit(server, worker):
    """Prometheus multiprocess mode: a dead worker's live gauges must not be summed any more (its counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
