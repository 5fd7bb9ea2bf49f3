"""Decryption of a blob as an iterator of verified plaintext chunks (``BlobCipher.decrypt_iter``).

``BlobCipher`` decrypts by pushing verified segments into a sink; a consumer such as an HTTP
response pulls chunks. The decryption runs in a worker thread that hands each authenticated
segment through a small bounded queue (memory stays at a few segments whatever the file size).
A failure after the first bytes (tampered segment, truncation) ends the iterator with the
error, so a server aborts the connection and its client, which sees fewer bytes than
``Content-Length``, discards its temp file. Closing the iterator early stops the worker.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from privtrain.crypto._provider import WrappedKey
    from privtrain.crypto._stream import BlobCipher

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


def decrypt_iter(
    cipher: BlobCipher, src: Path, key: WrappedKey, expected: dict[str, Any] | None, name: str
) -> Iterator[memoryview]:
    """Yield the verified plaintext of blob ``src`` chunk by chunk (see module doc)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def sink_for(seg: int, body: int) -> _QueueSink:
        return _QueueSink(q, seg, stop)

    def work() -> None:
        try:
            cipher._decrypt_into(src, key, expected, sink_for)  # noqa: SLF001 - same package
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

    t = threading.Thread(target=work, name=f"decrypt-{name}", daemon=True)
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
