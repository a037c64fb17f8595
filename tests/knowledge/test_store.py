import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from knowledge.chunking import Chunk
from knowledge.embeddings import build_embedding
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
    # Popen as a context manager closes the pipes it opened (an unclosed stdout is a ResourceWarning in CI).
    with subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, cwd=Path(__file__).parents[2]) as holder:
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


def test_changing_the_embedding_re_embeds_every_chunk_with_progress(tmp_path):
    with open_store(str(tmp_path), None, "kb-ef", "hash") as store:
        store.upsert([chunk(0, "Refunds are paid back within 5 days"), chunk(1, "Reset your password here"),
                      chunk(2, "Parcels arrive in 2 days", kind="policy")])
        before = store.metadata(ids=["doc.md#0", "doc.md#1", "doc.md#2"])
    # A model opened directly (not through open_store) is refused, and says how to go on.
    with pytest.raises(ValueError, match=r"built with another embedding than 'deskdraft_minilm_int8'.*open_store"):
        KnowledgeStore(path=str(tmp_path), url=None, collection="kb-ef", embedding=build_embedding("minilm-int8"))
    steps: list[tuple[int, int]] = []
    with open_store(str(tmp_path), None, "kb-ef", "minilm-int8", threads=1,
                    progress=lambda done, total: steps.append((done, total))) as store:
        assert steps[0] == (0, 3) and steps[-1] == (3, 3)
        assert store.count() == 3 and store.metadata(ids=["doc.md#0", "doc.md#1", "doc.md#2"]) == before
        best = retrieve(store, "When do I get my money back?", k=1)[0]
        assert best.id == "doc.md#0" and best.score > 0.3  # a MiniLM score, not a hash one
    with open_store(str(tmp_path), None, "kb-ef", "minilm-int8") as store:  # nothing to do the second time
        assert store.count() == 3


def test_a_re_embedding_stopped_after_the_delete_is_finished_on_the_next_open(tmp_path):
    import chromadb
    from chromadb.config import Settings

    from knowledge.reembed import SUFFIX

    with open_store(str(tmp_path), None, "kb-cut", "hash") as store:
        store.upsert([chunk(0, "Refunds are paid back within 5 days")])
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    client.get_collection("kb-cut").modify(name="kb-cut" + SUFFIX)  # as if the old one was deleted, then a crash
    with open_store(str(tmp_path), None, "kb-cut", "hash") as store:
        assert store.count() == 1 and store.ids_for_source("doc.md") == ["doc.md#0"]


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
    names = r"\['hash', 'minilm-int8', 'multilingual-e5-small'\]"
    with pytest.raises(ValueError, match=rf"unknown embedding 'bert'; choose one of {names}"):
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


def test_e5_scores_are_put_on_the_scale_min_score_was_set_for(tmp_path):
    """e5's raw cosines sit near 1 for everything; mapped, an answer clears min_score (0.3) and a stranger does not."""
    with open_store(str(tmp_path), None, "kb-e5", "multilingual-e5-small", threads=1) as store:
        store.upsert([chunk(0, "Refunds are paid back to your card within 5 days of the return arriving"),
                      chunk(1, "To reset your password, open the sign-in page and press 'Forgot password'")])
        refund, password = retrieve(store, "When do I get the money for my return back?", k=2, min_score=-1.0)
        assert refund.id == "doc.md#0" and refund.score > 0.3 > password.score
        # Across languages the ranking holds; the scores sit lower (the map was fitted on English pairs).
        refund, password = retrieve(store, "Wann bekomme ich mein Geld für die Rücksendung zurück?", k=2,
                                    min_score=-1.0)
        assert refund.id == "doc.md#0" and refund.score > password.score
