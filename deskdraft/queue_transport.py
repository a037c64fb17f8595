"""The embedded broker (kombu's filesystem transport under data_dir) and the broker settings of both processes.

Atomic writes: kombu writes a message file in place and the consumer moves it away without waiting for the
writer's lock, so a worker could read a half-written (empty) file: JSONDecodeError, and the consumer stops. Here a
message is written under a name the consumer ignores and renamed into place in one step.

No fsync, on purpose. The inbox row is the durable copy of an accepted webhook: it is committed (and, on SQLite,
fsynced: synchronous=FULL in the web process) before the message is written, and the sweep re-enqueues any row
still pending `queue.sweep_after_seconds` later. A message file lost in a power cut therefore costs a delay, never
an event, and fsyncing it bought nothing but 4 ms per webhook and a 17-197 ms p99 tail at 100 webhooks/s. The one
new risk, a renamed file whose data never reached the disk (empty or cut after a power cut), is handled on the
reading side: a message that does not parse is dropped with a warning instead of stopping the consumer, and its
event is swept back from the inbox (tests/test_ack_crashes.py kills the process at each step).
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

if TYPE_CHECKING:
    from deskdraft.settings import Config

SCHEME = "deskdraft-fs"
log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    # kombu's own classes name the second parameter differently (virtual: message, filesystem: payload).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.put_encoded(queue, str_to_bytes(dumps(payload)))

    def put_encoded(self, queue: str, data: bytes) -> None:
        """Write one message already encoded as kombu's JSON envelope (the web process's publisher builds its own,
        deskdraft/publisher.py)."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # "<...>.msg.partial" never matches the consumer's "<queue>.msg"
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, final)  # no fsync: the inbox row is the durable copy (module docstring)

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        while True:
            try:
                return super()._get(queue)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                # Only a power cut between the write and the disk flush leaves such a file (writes are atomic
                # renames). It is already moved out of the queue; its inbox row is still pending: the sweep resends.
                log.warning("embedded broker: dropped a message that does not parse (%s); the sweep resends it", exc)


class Transport(filesystem.Transport):
    Channel = Channel
    driver_name = SCHEME


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")


def broker_settings(config: Config) -> dict[str, Any]:
    """Redis/RabbitMQ when configured; otherwise this transport under data_dir: one host, no server to install."""
    if config.queue.broker_url:
        return {"broker_url": config.queue.broker_url}
    folder = Path(config.data_dir).resolve() / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"broker_url": f"{SCHEME}://",
            "broker_transport_options": {"data_folder_in": str(folder / "queue"),
                                         "data_folder_out": str(folder / "queue"),
                                         "processed_folder": str(folder / "processed"),
                                         "control_folder": str(folder / "control"),  # else ./control
                                         "store_processed": False, "polling_interval": 0.1}}
