import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from knowledge.chunking import Chunk
from knowledge.ingest import ingest_folder
from knowledge.retrieve import retrieve
from knowledge.store import LOCK_NAME, KnowledgeStore, StoreBusy, open_store

HOLDER = """
import sys
from knowledge.store import open_store
store = open_store(sys.argv[1], None, "kb-held", "hash")
print("open", flush=True)
sys.stdin.read()  # hold the store until the test closes our stdin
store.close()
"""


def chunk(n: int, text: str, kind: str = "article") -> Chunk:
    return Chunk(id=f"doc.md#{n}", text=text, title="Doc", url="https://h/doc", kind=kind, locale="en",
                 source_id="doc.md", updated_at="2026-01-01T00:00:00+00:00", content_hash=f"h{n}")


def test_a_second_process_gets_store_busy(tmp_path):
    path = str(tmp_path / "chroma")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).parents[2])
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreBusy) as busy:
            open_store(path, None, "kb-held", "hash")
        assert f"the Chroma store at {path} is open in another process" in str(busy.value)
        assert "knowledge.url" in str(busy.value)
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    open_store(path, None, "kb-held", "hash").close()  # free again once the holder is gone


def test_any_other_lock_holder_makes_the_store_busy(tmp_path):
    other = FileLock(str(tmp_path / LOCK_NAME))
    with other, pytest.raises(StoreBusy):
        open_store(str(tmp_path), None, "kb-busy", "hash")
    open_store(str(tmp_path), None, "kb-busy", "hash").close()


def test_a_second_store_in_the_same_process_is_refused(tmp_path):
    with open_store(str(tmp_path), None, "kb-twice", "hash"), \
            pytest.raises(StoreBusy, match="already open in this process; share that KnowledgeStore"):
        open_store(str(tmp_path), None, "kb-twice", "hash")


def test_close_releases_the_lock_and_data_persists(tmp_path):
    store = open_store(str(tmp_path), None, "kb-persist", "hash")
    store.upsert([chunk(0, "Refunds take 30 days"), chunk(1, "Shipping takes 2 days")])
    store.close()
    store.close()  # twice is fine
    with open_store(str(tmp_path), None, "kb-persist", "hash") as again:
        assert again.count() == 2
        assert again.ids_for_source("doc.md") == ["doc.md#0", "doc.md#1"]
        again.delete(["doc.md#0", "not-there"])
        assert again.count() == 1


def test_reopening_with_another_embedding_says_what_to_do(tmp_path):
    open_store(str(tmp_path), None, "kb-ef", "hash").close()
    with pytest.raises(ValueError, match="built with another embedding than 'deskdraft_minilm_int8'"):
        open_store(str(tmp_path), None, "kb-ef", "minilm-int8")
    open_store(str(tmp_path), None, "kb-ef", "hash").close()  # the failed open released the lock


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": None, "url": None, "collection": "kb-x"}, "exactly one of path"),
        ({"path": "p", "url": "http://h:1", "collection": "kb-x"}, "exactly one of path"),
        ({"path": "p", "url": None, "collection": "kb"}, "3 characters"),
        ({"path": None, "url": "ftp://h", "collection": "kb-x"}, "must look like http://host:8000"),
    ],
)
def test_bad_arguments(kwargs, message):
    from knowledge.embeddings import HashEmbedding

    with pytest.raises(ValueError, match=message):
        KnowledgeStore(embedding=HashEmbedding(), **kwargs)


def test_unknown_embedding_name(tmp_path):
    with pytest.raises(ValueError, match=r"unknown embedding 'bert'; choose one of \['hash', 'minilm-int8'\]"):
        open_store(str(tmp_path), None, "kb-x", "bert")


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` on a free loopback port; skipped when the CLI cannot start here."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("chroma CLI not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.skip("chroma server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_chroma_server_needs_no_lock_and_a_url_wins_over_a_path(chroma_server, tmp_path, write):
    write("kb/refunds.md", "# Refunds\n\nMoney back within 30 days.\n")
    unused = tmp_path / "unused"
    with open_store(str(unused), chroma_server, "kb-server", "hash") as first, \
            open_store(str(unused), chroma_server, "kb-server", "hash") as second:  # no StoreBusy: server mode
        assert ingest_folder(first, tmp_path / "kb").added == 1
        [passage] = retrieve(second, "money back", k=1)
        assert passage.title == "Refunds"
    assert not unused.exists()
