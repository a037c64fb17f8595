"""A TCP relay in front of a real server that can be frozen: connections stay open and what is sent is accepted by
the kernel, but nothing comes back, as with a SIGSTOPped server. Lets a test pause the shared PostgreSQL for
itself only, without stopping it for anyone else."""
from __future__ import annotations

import contextlib
import select
import socket
import threading


class FreezableProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.running = threading.Event()  # set: relay; clear: frozen
        self.running.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.running.clear()

    def thaw(self) -> None:
        self.running.set()

    def close(self) -> None:
        self._closed = True
        self.running.set()
        for sock in [self.listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while not self._closed:
            self.running.wait()  # frozen: read nothing, answer nothing
            try:
                ready, _, _ = select.select(list(peers), [], [], 0.1)
                for sock in ready:
                    if not self.running.is_set():
                        break
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    peers[sock].sendall(data)
            except (OSError, ValueError):
                for sock in peers:
                    with contextlib.suppress(OSError):
                        sock.close()
                return
