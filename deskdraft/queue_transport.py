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

import contextlib
import itertools
import json
import logging
import os
import time
from collections import deque
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

if TYPE_CHECKING:
    from deskdraft.settings import Config

SCHEME = "deskdraft-fs"
# A consumer renames a file to "<name>.taken", reads it and removes it, all at once: one still there after this
# long belonged to a consumer killed in between, and goes back into the queue (a message delivered twice is safe:
# the ticket's lease lets one job post).
ORPHAN_SECONDS = 60.0
STAMP_DIGITS = 20  # a message file's name starts with time.time_ns(), zero-padded to this width
_files_written = itertools.count()  # with the pid, what makes a message file's name unique
log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    """kombu's filesystem channel, with atomic writes and files that may hold several messages.

    A message file holds one JSON envelope per line (JSON text has no raw newline). The web process's publishing
    thread writes the messages waiting together as one file: on a busy web process, one file write for several
    webhooks instead of one each (open, write, close and rename each give up the GIL the requests need). A consumer
    takes a whole file and hands its messages out one at a time; the ones it holds are put back as a new file when
    the channel closes. Held messages a killed worker never handed out are in the same place as a message file lost
    in a power cut (module docstring): their inbox rows are still pending, and the sweep sends them again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: dict[str, deque[bytes]] = {}

    # kombu's own classes name the second parameter differently (virtual: message, filesystem: payload).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.put_encoded(queue, [str_to_bytes(dumps(payload))])

    def put_encoded(self, queue: str, envelopes: list[bytes]) -> None:
        """Write messages already encoded as kombu's JSON envelope, in one file, in this order."""
        # Names sort in the order written (on a clock that does not step back): nanoseconds, zero-padded. kombu's
        # milliseconds left files of the same millisecond in uuid order, and a millisecond count gaining a digit
        # sorted before the older ones.
        # Unique by process and count, not a uuid4: its read of the OS's randomness gives up the GIL (publisher.py).
        name = f"{time.time_ns():0{STAMP_DIGITS}d}_{os.getpid()}-{next(_files_written)}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # "<...>.msg.partial" never matches the consumer's "<queue>.msg"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, b"\n".join(envelopes))
        finally:
            os.close(fd)
        os.replace(partial, final)  # no fsync: the inbox row is the durable copy (module docstring)

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        held = self._held.get(queue)
        while True:
            if held:
                line = held.popleft()
                try:
                    return loads(bytes_to_str(line))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    _dropped(exc)
                    continue
            try:
                lines = self._take_file(queue)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                _dropped(exc)
                continue
            held = self._held.setdefault(queue, deque())
            held.extend(lines)

    def _take_file(self, queue: str) -> list[bytes]:
        """The lines of the oldest message file of `queue`, taken out of the folder; Empty when there is none.

        Taken by renaming it (another consumer renaming it first makes ours fail, and we try the next), not by
        kombu's move to the system's temporary folder, which copies when that is another filesystem."""
        suffix = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in), key=_oldest_first):
            kind = name.partition(".")[2]
            if kind == f"{suffix}.taken":
                if not self._requeued_orphan(name):
                    continue
                name = name.removesuffix(".taken")
            elif kind != suffix:
                continue
            taken = os.path.join(self.data_folder_in, f"{name}.taken")
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue
            with open(taken, "rb") as f:
                payload = f.read()
            if self.store_processed:
                os.replace(taken, os.path.join(self.processed_folder, name))
            else:
                os.remove(taken)
            lines = [line for line in payload.split(b"\n") if line]
            if not lines:
                raise json.JSONDecodeError("empty message file", "", 0)
            return lines
        raise Empty()

    def _requeued_orphan(self, name: str) -> bool:
        """True when `name` (a .taken file) was left by a dead consumer and is now back under its own name."""
        path = os.path.join(self.data_folder_in, name)
        try:
            if time.time() - os.stat(path).st_ctime <= ORPHAN_SECONDS:  # the rename that took it set its ctime
                return False
            os.rename(path, path.removesuffix(".taken"))
        except FileNotFoundError:  # its consumer finished with it, or another one put it back first
            return False
        log.warning("embedded broker: %s was taken by a consumer that died; back in the queue", name)
        return True

    def _size(self, queue: str) -> int:
        return int(super()._size(queue)) + len(self._held.get(queue, ()))

    def close(self) -> None:
        held, self._held = self._held, {}
        for queue, lines in held.items():  # messages taken from a file but not handed out go back in the queue
            if lines:
                with contextlib.suppress(OSError):
                    self.put_encoded(queue, list(lines))
        super().close()


def _oldest_first(name: str) -> tuple[bool, int, str]:
    """Sort key for the queue folder. Files named before the nanosecond names (kombu's scheme, and this module's
    before it: monotonic milliseconds, of any width) were written before the upgrade, so before every file named
    since: they go first, by their number. By name alone they sorted last, behind every new file ("0..." < "1..."),
    and under steady traffic waited until the queue was empty, their rows resent by the sweep meanwhile."""
    stamp = name.partition("_")[0]
    if len(stamp) == STAMP_DIGITS:
        return True, 0, name
    return False, int(stamp) if stamp.isdigit() else 0, name


def _dropped(exc: Exception) -> None:
    # Only a power cut between the write and the disk flush leaves such a file (writes are atomic renames). It is
    # already out of the queue; its inbox rows are still pending: the sweep resends them.
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
