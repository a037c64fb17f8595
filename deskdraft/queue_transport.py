"""kombu's filesystem transport with atomic writes: the embedded broker's queue folder.

kombu writes a message file in place and the consumer moves it away without waiting for the writer's lock,
so a worker can read a half-written (empty) file: JSONDecodeError, and the consumer stops. Here a message is
written under a name the consumer ignores and renamed into place in one step.
"""
from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "deskdraft-fs"


class Channel(filesystem.Channel):
    # kombu's own classes name the second parameter differently (virtual: message, filesystem: payload).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # "<...>.msg.partial" never matches the consumer's "<queue>.msg"
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
            f.flush()
            os.fsync(f.fileno())  # an accepted webhook's message survives a power cut once renamed
        os.replace(partial, final)


class Transport(filesystem.Transport):
    Channel = Channel
    driver_name = SCHEME


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
