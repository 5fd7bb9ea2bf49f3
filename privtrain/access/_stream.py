"""Server-side streaming decryption of a dataset blob, for the registry service.

``BlobCipher`` decrypts by pushing verified segments into a sink; an HTTP response pulls
chunks. :func:`stream_plaintext` runs the decryption in a worker thread that hands each
authenticated segment through a small bounded queue (memory stays at a few segments whatever
the file size). A failure after the first bytes (tampered segment, truncation) ends the
iterator with the error, so the server aborts the connection and the client, which sees fewer
bytes than ``Content-Length``, discards its temp file.

Uses two private helpers of the crypto and dataset modules (``BlobCipher._decrypt_into`` and
``datasets._readable``): there is no public "decrypt to an iterator" verb yet.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from privtrain import datasets

if TYPE_CHECKING:
    from privtrain.catalog import Dataset
    from privtrain.workspace import Workspace

_DONE = object()
_COALESCE = 8 << 20


class _Cancelled(Exception):
    pass


class _QueueSink:
    def __init__(self, q: queue.Queue[Any], seg: int, stop: threading.Event) -> None:
        self._q = q
        self._seg = seg
        self._stop = stop

    def acquire(self) -> bytearray:
        if self._stop.is_set():
            raise _Cancelled()
        return bytearray(self._seg)

    def submit(self, buf: bytearray, n: int) -> None:
        chunk = memoryview(buf)[:n]  # a fresh buffer per segment (acquire): no copy needed
        while True:
            if self._stop.is_set():
                raise _Cancelled()
            try:
                self._q.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


def stream_plaintext(ws: Workspace, row: Dataset, *, action: str) -> Iterator[memoryview]:
    """Yield the verified plaintext of dataset ``row`` segment by segment (see module doc).

    The caller has authorized the request already; a shredded dataset raises KeyAccessError
    here, before any byte is produced."""
    key = datasets._readable(ws, row, action)  # noqa: SLF001 - see module docstring
    ctx = datasets.dataset_context(row.id, row.name, row.version)
    src = ws.blob_path(row.blob_path)
    q: queue.Queue[Any] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def sink_for(seg: int, body: int) -> _QueueSink:
        return _QueueSink(q, seg, stop)

    def work() -> None:
        try:
            ws.cipher._decrypt_into(src, key, ctx, sink_for)  # noqa: SLF001
            item: Any = _DONE
        except _Cancelled:
            return
        except BaseException as e:  # handed to the consumer
            item = e
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    t = threading.Thread(target=work, name=f"decrypt-{row.id[:8]}", daemon=True)
    t.start()

    def gen() -> Iterator[memoryview]:
        # Segments that are already decrypted go out together (up to _COALESCE bytes): fewer
        # hand-offs between threads, which is what a streamed response pays for per chunk.
        pending: Any = None
        try:
            while pending is None:
                item = q.get()
                if item is _DONE or isinstance(item, BaseException):
                    pending = item
                    break
                parts = [item]
                size = len(item)
                while size < _COALESCE:
                    try:
                        more = q.get_nowait()
                    except queue.Empty:
                        break
                    if more is _DONE or isinstance(more, BaseException):
                        pending = more
                        break
                    parts.append(more)
                    size += len(more)
                yield parts[0] if len(parts) == 1 else memoryview(b"".join(parts))
            if isinstance(pending, BaseException):
                raise pending
        finally:
            stop.set()

    return gen()
