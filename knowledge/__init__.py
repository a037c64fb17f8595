"""Knowledge layer: read and chunk help articles, embed them into Chroma, retrieve passages.

Modules: embeddings (the swappable embedding functions), chunking (files to chunks), store (the
only Chroma client), ingest (folder sync), retrieve (the search), retriever (the worker's configured entry
point over it). Nothing here opens a client or loads a model at import time.
"""
