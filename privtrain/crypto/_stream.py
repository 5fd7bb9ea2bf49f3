"""BlobCipher: streaming envelope encryption of files in the PTB1 format.

Memory stays flat: plaintext and ciphertext move in segment-sized buffers (a small, fixed
ring of them), never the whole file. For large files a writer thread (and, when encrypting,
a SHA-256 thread) overlap disk writes and hashing with reading and AES-GCM; the AES-GCM and
hashlib calls release the GIL, so this uses a second core. Every 8 MiB written, the kernel
is asked to start writing that range back (Linux ``sync_file_range``), so the fsync that
must precede the atomic rename finds little left to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privtrain._io import fsync_dir
from privtrain.crypto._format import (
    DATA_KEY_LEN,
    DEFAULT_SEGMENT,
    FILE_ID_LEN,
    MAX_SEGMENT,
    MAX_SEGMENTS,
    MIN_SEGMENT,
    NONCE_PREFIX_LEN,
    TAG_LEN,
    Context,
    Header,
    body_layout,
    canonical_context,
    commitment_ok,
    derive_keys,
    read_header,
    segment_nonce,
    wrap_aad,
)
from privtrain.crypto._provider import KeyProvider, WrappedKey
from privtrain.errors import (
    ConflictError,
    InputError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
    PrivtrainError,
)

log = logging.getLogger(__name__)

# Files at least this large (body bytes) with segments at least _THREAD_MIN_SEGMENT use the
# threaded pipeline; small ones run inline (thread start-up would dominate).
_THREAD_MIN_BYTES = 4 << 20
_THREAD_MIN_SEGMENT = 64 << 10
_RING_BYTES = 8 << 20  # output buffers in flight, in bytes (at least 2 buffers)
_WRITEBACK_CHUNK = 8 << 20


@dataclass(frozen=True)
class SealedBlob:
    """What encrypting a blob produced; store it in the catalog.

    ``ciphertext_sha256`` and ``ciphertext_bytes`` cover the whole blob file (header + body).
    ``wrapped_key`` is not in the blob: keep it (catalog table ``data_keys``); deleting it
    shreds the blob.
    """

    file_id: bytes
    wrapped_key: WrappedKey
    context: Context
    ciphertext_sha256: str
    plaintext_bytes: int
    ciphertext_bytes: int


# ------------------------------------------------------------------------------ I/O helpers


def _io_error(action: str, path: Path | str, e: OSError) -> PrivtrainError:
    if isinstance(e, FileNotFoundError):
        return NotFoundError(f"cannot {action} {path}: no such file or directory")
    return InputError(f"cannot {action} {path}: {e.strerror or e}")


def _write_all(fd: int, mv: memoryview) -> None:
    while len(mv):
        n = os.write(fd, mv)
        mv = mv[n:]


def _load_sync_file_range() -> Callable[[int, int, int], None] | None:
    """Linux sync_file_range(SYNC_FILE_RANGE_WRITE): start write-back of a range, no wait."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn.restype = ctypes.c_int

    def start(fd: int, offset: int, nbytes: int) -> None:
        fn(fd, offset, nbytes, 2)  # SYNC_FILE_RANGE_WRITE; a hint: errors are ignored

    return start


_sync_file_range = _load_sync_file_range()


class _Writer:
    """Writes buffers to an fd and, every _WRITEBACK_CHUNK bytes, starts the kernel's
    write-back of what was just written, so the final fsync overlaps with the work."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._start = os.lseek(fd, 0, os.SEEK_CUR)
        self._pending = 0

    def write(self, mv: memoryview) -> None:
        _write_all(self.fd, mv)
        self._pending += len(mv)
        if self._pending >= _WRITEBACK_CHUNK and _sync_file_range is not None:
            _sync_file_range(self.fd, self._start, self._pending)
            self._start += self._pending
            self._pending = 0


def _read_full(f: Any, mv: memoryview) -> int:
    """Fill ``mv`` from ``f`` unless EOF comes first; returns the number of bytes read."""
    got = 0
    size = len(mv)
    readinto = getattr(f, "readinto", None)
    while got < size:
        if readinto is not None:
            n = readinto(mv[got:])
        else:
            chunk = f.read(size - got)
            n = len(chunk) if chunk else 0
            mv[got : got + n] = chunk or b""
        if not n:
            break
        got += n
    return got


def _fadvise_sequential(fd: int) -> None:
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


class _TempOut:
    """A temp file next to ``dst``; ``commit`` fsyncs and renames it into place.

    ``anonymous`` (for plaintext: decryption targets) uses an unnamed ``O_TMPFILE`` inode
    where the filesystem supports it: until ``commit`` links it into place it has no name, so
    a process killed mid-way (even by SIGKILL) leaves no partial plaintext behind. Elsewhere
    it falls back to a named 0600 temp file, removed on every failure path."""

    def __init__(self, dst: Path, *, anonymous: bool = False) -> None:
        self.dst = dst
        self.tmp = ""
        if not dst.parent.is_dir():
            raise NotFoundError(f"directory {dst.parent} for {dst.name} does not exist")
        flag = getattr(os, "O_TMPFILE", 0)
        if anonymous and flag and os.path.isdir("/proc/self/fd"):
            try:
                self.fd = os.open(dst.parent, flag | os.O_WRONLY, 0o600)
                self._open = True
                return
            except OSError:  # filesystem without O_TMPFILE: a named temp file instead
                pass
        try:
            self.fd, self.tmp = tempfile.mkstemp(
                prefix=f".{dst.name}.", suffix=".ptb-tmp", dir=dst.parent
            )
        except OSError as e:
            raise _io_error("create a temporary file next to", dst, e) from None
        self._open = True

    def commit(self) -> None:
        try:
            os.fsync(self.fd)
            if not self.tmp:  # name the anonymous inode (a fresh name), then rename it
                named = tempfile.mktemp(prefix=f".{self.dst.name}.", suffix=".ptb-tmp",
                                        dir=self.dst.parent)  # fmt: skip
                # linkat(AT_SYMLINK_FOLLOW) through /proc (a dir fd makes Python use linkat)
                dfd = os.open(self.dst.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.link(
                        f"/proc/self/fd/{self.fd}",
                        os.path.basename(named),
                        dst_dir_fd=dfd,
                        follow_symlinks=True,
                    )
                finally:
                    os.close(dfd)
                self.tmp = named
            os.close(self.fd)
            self._open = False
            os.replace(self.tmp, self.dst)
        except OSError as e:
            self.discard()
            raise _io_error("write", self.dst, e) from None
        fsync_dir(self.dst.parent)

    def discard(self) -> None:
        if self._open:
            self._open = False
            with contextlib.suppress(OSError):
                os.close(self.fd)
        if self.tmp:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)


# ------------------------------------------------------------------------------ sinks


class _Sink(Protocol):
    def acquire(self) -> bytearray: ...
    def submit(self, buf: bytearray, n: int) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class _InlineSink:
    """Hash (optional) and write each buffer in the calling thread."""

    def __init__(self, fd: int, hasher: Any, cap: int) -> None:
        self._writer = _Writer(fd)
        self._hasher = hasher
        self._buf = bytearray(cap)

    def acquire(self) -> bytearray:
        return self._buf

    def submit(self, buf: bytearray, n: int) -> None:
        mv = memoryview(buf)[:n]
        if self._hasher is not None:
            self._hasher.update(mv)
        self._writer.write(mv)

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _MemorySink:
    """Collect plaintext in memory (decrypt_bytes)."""

    def __init__(self, cap: int) -> None:
        self._buf = bytearray(cap)
        self.out = bytearray()

    def acquire(self) -> bytearray:
        return self._buf

    def submit(self, buf: bytearray, n: int) -> None:
        self.out += memoryview(buf)[:n]

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        self.out = bytearray()


class _Stop(Exception):
    pass


class _ThreadedSink:
    """A ring of buffers consumed in order by a writer thread and, optionally, a hash thread.

    A buffer returns to the free list when every consumer is done with it. The first error in
    a consumer is re-raised in the producer at its next acquire/submit/finish.
    """

    def __init__(self, fd: int, hasher: Any, cap: int) -> None:
        self._writer = _Writer(fd)
        nbuf = max(2, min(8, _RING_BYTES // cap))
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(nbuf):
            self._free.put(bytearray(cap))
        self._pending: dict[int, int] = {}
        self._plock = threading.Lock()
        self._error: BaseException | None = None
        consumers: list[Callable[[memoryview], Any]] = [self._writer.write]
        if hasher is not None:
            consumers.append(hasher.update)
        self._queues: list[queue.SimpleQueue[tuple[bytearray, int] | None]] = []
        self._threads: list[threading.Thread] = []
        for fn in consumers:
            q: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
            t = threading.Thread(target=self._run, args=(q, fn), daemon=True, name="ptb1-sink")
            self._queues.append(q)
            self._threads.append(t)
            t.start()
        self._done = False

    def _run(
        self, q: queue.SimpleQueue[tuple[bytearray, int] | None], fn: Callable[[memoryview], Any]
    ) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            buf, n = item
            try:
                if self._error is None:
                    with memoryview(buf) as mv:
                        fn(mv[:n])
            except BaseException as e:  # handed to the producer thread
                if self._error is None:
                    self._error = e
            finally:
                self._release(buf)

    def _release(self, buf: bytearray) -> None:
        with self._plock:
            key = id(buf)
            self._pending[key] -= 1
            done = self._pending[key] == 0
            if done:
                del self._pending[key]
        if done:
            self._free.put(buf)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def acquire(self) -> bytearray:
        while True:
            self._check()
            try:
                return self._free.get(timeout=0.2)
            except queue.Empty:
                continue

    def submit(self, buf: bytearray, n: int) -> None:
        self._check()
        with self._plock:
            self._pending[id(buf)] = len(self._queues)
        for q in self._queues:
            q.put((buf, n))

    def _join(self) -> None:
        if not self._done:
            self._done = True
            for q in self._queues:
                q.put(None)
            for t in self._threads:
                t.join()

    def finish(self) -> None:
        self._join()
        self._check()

    def abort(self) -> None:
        if self._error is None:
            self._error = _Stop()
        self._join()


def _make_sink(fd: int, hasher: Any, cap: int, threaded: bool) -> _Sink:
    if threaded and cap >= _THREAD_MIN_SEGMENT:
        return _ThreadedSink(fd, hasher, cap)
    return _InlineSink(fd, hasher, cap)


# ------------------------------------------------------------------------------ encryption


class _Encryptor:
    """One new blob being written: header done, segments sealed in order, then committed."""

    def __init__(
        self,
        provider: KeyProvider,
        dst: Path,
        context: Context,
        segment_size: int,
        threaded: bool,
        _data_key: bytes | None = None,  # tests only: splice segments between blobs
    ) -> None:
        ctx_bytes = canonical_context(context)
        self.context: Context = json.loads(ctx_bytes)
        self.dst = dst
        self.segment_size = segment_size
        data_key = _data_key if _data_key is not None else os.urandom(DATA_KEY_LEN)
        file_id = os.urandom(FILE_ID_LEN)
        self._prefix = os.urandom(NONCE_PREFIX_LEN)
        header = Header(segment_size, file_id, self._prefix, ctx_bytes, b"")
        self._hh = header.header_hash
        seg_key, commitment = derive_keys(data_key, file_id, self._hh)
        header = Header(segment_size, file_id, self._prefix, ctx_bytes, commitment)
        self.file_id = file_id
        self.wrapped = provider.wrap(data_key, wrap_aad(file_id, ctx_bytes))
        del data_key
        self._aead = AESGCM(seg_key)
        self._out = _TempOut(dst)
        self._hasher = hashlib.sha256()
        try:
            head = header.encode()
            self._hasher.update(head)
            _write_all(self._out.fd, memoryview(head))
            self._sink = _make_sink(self._out.fd, self._hasher, segment_size + TAG_LEN, threaded)
        except OSError as e:
            self._out.discard()
            raise _io_error("write", dst, e) from None
        except BaseException:
            self._out.discard()
            raise
        self.index = 0
        self.plaintext_bytes = 0
        self.ciphertext_bytes = len(head)
        self.finished = False

    def seal(self, data: memoryview, last: bool) -> None:
        if self.index >= MAX_SEGMENTS:
            raise InputError(f"blob {self.dst} would exceed 2^32 segments; use larger segments")
        n = len(data)
        out = self._sink.acquire()
        nonce = segment_nonce(self._prefix, self.index, last)
        with memoryview(out) as mv:
            self._aead.encrypt_into(nonce, data, self._hh, mv[: n + TAG_LEN])
        self._sink.submit(out, n + TAG_LEN)
        self.index += 1
        self.plaintext_bytes += n
        self.ciphertext_bytes += n + TAG_LEN

    def commit(self) -> SealedBlob:
        self._sink.finish()
        self._out.commit()
        self.finished = True
        log.debug("sealed blob %s file_id=%s segments=%d", self.dst, self.file_id.hex(), self.index)
        return SealedBlob(
            file_id=self.file_id,
            wrapped_key=self.wrapped,
            context=self.context,
            ciphertext_sha256=self._hasher.hexdigest(),
            plaintext_bytes=self.plaintext_bytes,
            ciphertext_bytes=self.ciphertext_bytes,
        )

    def abort(self) -> None:
        if not self.finished:
            self.finished = True
            with contextlib.suppress(BaseException):
                self._sink.abort()
            self._out.discard()


def _guard(action: str, path: Path, enc: _Encryptor | None, fn: Callable[[], Any]) -> Any:
    """Run fn; on any failure abort the blob being written and map OSError."""
    try:
        return fn()
    except OSError as e:
        if enc is not None:
            enc.abort()
        raise _io_error(action, path, e) from None
    except BaseException:
        if enc is not None:
            enc.abort()
        raise


class EncryptingWriter:
    """File-like writer for one new blob: ``write(b)``, then ``close()`` (or use ``with``).

    On a clean close the final segment is sealed, the temp file fsynced and renamed to ``dst``
    and :attr:`sealed` holds the SealedBlob. If the ``with`` block raises (or the writer is
    discarded unclosed, or :meth:`abort` is called) the temp file is removed and ``dst`` is
    untouched.
    """

    def __init__(self, enc: _Encryptor) -> None:
        self._enc = enc
        self._size = enc.segment_size
        self._buf = bytearray(self._size)
        self._fill = 0
        self._closed = False
        self._sealed: SealedBlob | None = None

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            log.warning("encrypting writer for %s discarded unclosed; nothing written", self.name)
            self.abort()

    @property
    def name(self) -> str:
        return str(self._enc.dst)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def sealed(self) -> SealedBlob:
        if self._sealed is None:
            raise ConflictError(f"blob {self._enc.dst} is not sealed yet; close the writer first")
        return self._sealed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._enc.plaintext_bytes + self._fill

    def flush(self) -> None:
        pass

    def write(self, b: Any) -> int:
        if self._closed:
            raise ConflictError(f"write to closed encrypting writer for {self._enc.dst}")
        mv = memoryview(b).cast("B")
        total = len(mv)
        try:
            _guard("write", self._enc.dst, self._enc, lambda: self._write(mv))
        except BaseException:
            self._closed = True  # the blob was discarded; later writes must not continue it
            raise
        return total

    def _write(self, mv: memoryview) -> None:
        size = self._size
        while len(mv):
            if self._fill == size:  # more data follows, so the buffered segment is not final
                self._enc.seal(memoryview(self._buf), last=False)
                self._fill = 0
            if self._fill == 0:
                while len(mv) > size:  # zero-copy for whole segments that are not final
                    self._enc.seal(mv[:size], last=False)
                    mv = mv[size:]
            k = min(size - self._fill, len(mv))
            self._buf[self._fill : self._fill + k] = mv[:k]
            self._fill += k
            mv = mv[k:]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def fin() -> SealedBlob:
            self._enc.seal(memoryview(self._buf)[: self._fill], last=True)
            return self._enc.commit()

        self._sealed = _guard("write", self._enc.dst, self._enc, fin)

    def abort(self) -> None:
        """Discard everything written; nothing appears at dst."""
        self._closed = True
        self._enc.abort()


# ------------------------------------------------------------------------------ the cipher


class BlobCipher:
    """Encrypt and decrypt blobs (files) with per-blob data keys wrapped by ``provider``."""

    def __init__(self, provider: KeyProvider, segment_size: int = DEFAULT_SEGMENT) -> None:
        if isinstance(segment_size, bool) or not isinstance(segment_size, int):
            raise InputError("segment_size must be an int")
        if not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
            raise InputError(
                f"segment_size {segment_size} out of range [{MIN_SEGMENT}, {MAX_SEGMENT}]"
            )
        self._provider = provider
        self._segment_size = segment_size

    @property
    def segment_size(self) -> int:
        return self._segment_size

    # ---------------------------------------------------------------- encrypt

    def writer(self, dst: Path, context: Context) -> EncryptingWriter:
        """A file-like writer that seals what is written into a new blob at ``dst``."""
        enc = _Encryptor(self._provider, Path(dst), context, self._segment_size, threaded=True)
        return EncryptingWriter(enc)

    def encrypt_file(self, src: Path | BinaryIO, dst: Path, context: Context) -> SealedBlob:
        """Encrypt ``src`` (a path or a binary file object) into a new blob at ``dst``."""
        dst = Path(dst)
        if isinstance(src, str | os.PathLike):
            src_path = Path(src)
            try:
                f: Any = open(src_path, "rb", buffering=0)
            except OSError as e:
                raise _io_error("read", src_path, e) from None
            with f:
                _fadvise_sequential(f.fileno())
                size = os.fstat(f.fileno()).st_size
                return self._encrypt_stream(f, src_path, dst, context, size >= _THREAD_MIN_BYTES)
        return self._encrypt_stream(src, getattr(src, "name", "<stream>"), dst, context, True)

    def _encrypt_stream(
        self, f: Any, src_name: object, dst: Path, context: Context, threaded: bool
    ) -> SealedBlob:
        size = self._segment_size
        enc = _Encryptor(self._provider, dst, context, size, threaded)
        bufs = (bytearray(size), bytearray(size))
        views = (memoryview(bufs[0]), memoryview(bufs[1]))

        def run() -> SealedBlob:
            cur = 0
            try:
                n_cur = _read_full(f, views[cur])
            except OSError as e:
                raise _io_error("read", str(src_name), e) from None
            while True:
                n_next = 0
                if n_cur == size:  # maybe more data: look ahead one segment
                    try:
                        n_next = _read_full(f, views[1 - cur])
                    except OSError as e:
                        raise _io_error("read", str(src_name), e) from None
                enc.seal(views[cur][:n_cur], last=n_next == 0)
                if n_next == 0:
                    return enc.commit()
                cur, n_cur = 1 - cur, n_next

        return _guard("write", dst, enc, run)  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- decrypt

    def _open(self, src: Path) -> tuple[Any, Header, int]:
        try:
            f = open(src, "rb", buffering=0)
        except OSError as e:
            raise _io_error("read blob", src, e) from None
        try:
            _fadvise_sequential(f.fileno())
            size = os.fstat(f.fileno()).st_size
            header = read_header(f, str(src))
        except OSError as e:
            f.close()
            raise _io_error("read blob", src, e) from None
        except BaseException:
            f.close()
            raise
        return f, header, size

    def _unlock(self, header: Header, key: WrappedKey, name: Path) -> tuple[AESGCM, bytes]:
        """Unwrap the data key, check the key commitment (constant time): segment AEAD + hh."""
        if not isinstance(key, WrappedKey):
            raise InputError(f"key for blob {name} must be a WrappedKey")
        try:
            data_key = self._provider.unwrap(key, wrap_aad(header.file_id, header.context_bytes))
        except KeyAccessError as e:
            raise KeyAccessError(f"blob {name}: {e.message}") from None
        hh = header.header_hash
        seg_key, commitment = derive_keys(data_key, header.file_id, hh)
        if not commitment_ok(commitment, header.commitment):
            raise IntegrityError(
                f"blob {name}: header field key_commitment does not match the data key "
                "(wrong data key or modified header)"
            )
        return AESGCM(seg_key), hh

    @staticmethod
    def _check_context(header: Header, expected: Context | None, name: Path) -> None:
        if expected is not None and canonical_context(expected) != header.context_bytes:
            raise IntegrityError(
                f"blob {name}: header field context does not match the expected context"
            )

    def _decrypt_into(
        self, src: Path, key: WrappedKey, expected: Context | None, sink_for: Any
    ) -> None:
        f, header, size = self._open(src)
        with f:
            self._check_context(header, expected, src)
            aead, hh = self._unlock(header, key, src)
            seg = header.segment_size
            nseg, last_len = body_layout(size - len(header), seg, str(src))
            sink: _Sink = sink_for(seg, size - len(header))
            inbuf = bytearray(seg + TAG_LEN)
            view = memoryview(inbuf)
            try:
                for i in range(nseg):
                    last = i == nseg - 1
                    clen = last_len if last else seg + TAG_LEN
                    try:
                        got = _read_full(f, view[:clen])
                    except OSError as e:
                        raise _io_error("read blob", src, e) from None
                    if got != clen:
                        raise IntegrityError(f"blob {src}: truncated inside segment {i}")
                    out = sink.acquire()
                    try:
                        with memoryview(out) as mv:
                            aead.decrypt_into(
                                segment_nonce(header.nonce_prefix, i, last),
                                view[:clen],
                                hh,
                                mv[: clen - TAG_LEN],
                            )
                    except InvalidTag:
                        raise IntegrityError(
                            f"blob {src}: segment {i} of {nseg} failed authentication "
                            "(modified, truncated, reordered or taken from another blob)"
                        ) from None
                    sink.submit(out, clen - TAG_LEN)
                if f.read(1):
                    raise IntegrityError(f"blob {src}: data after the final segment {nseg - 1}")
                sink.finish()
            except BaseException:
                sink.abort()
                raise

    def decrypt_file(
        self, src: Path, dst: Path, key: WrappedKey, expected_context: Context | None = None
    ) -> None:
        """Decrypt blob ``src`` to ``dst``; ``dst`` appears only once every segment verified.

        IntegrityError on any modification, KeyAccessError if ``key`` cannot be unwrapped; on
        failure no file is left at ``dst`` (an existing ``dst`` is left as it was).
        """
        src, dst = Path(src), Path(dst)
        holder: list[_TempOut] = []

        def sink_for(seg: int, body: int) -> _Sink:
            out = _TempOut(dst, anonymous=True)
            holder.append(out)
            return _make_sink(out.fd, None, seg, body >= _THREAD_MIN_BYTES)

        try:
            self._decrypt_into(src, key, expected_context, sink_for)
            if holder:
                holder[0].commit()
        except OSError as e:
            for out in holder:
                out.discard()
            raise _io_error("write", dst, e) from None
        except BaseException:
            for out in holder:
                out.discard()
            raise
        log.debug("decrypted blob %s", src)

    def decrypt_bytes(
        self, src: Path, key: WrappedKey, expected_context: Context | None = None
    ) -> bytes:
        """Decrypt a (small) blob into memory; returned only after the final segment verified."""
        holder: list[_MemorySink] = []

        def sink_for(seg: int, body: int) -> _Sink:
            holder.append(_MemorySink(seg))
            return holder[0]

        self._decrypt_into(Path(src), key, expected_context, sink_for)
        return bytes(holder[0].out)

    def decrypt_iter(
        self, src: Path, key: WrappedKey, expected_context: Context | None = None
    ) -> Iterator[memoryview]:
        """Verified plaintext of blob ``src`` as an iterator of chunks, decrypted in a worker
        thread with bounded memory. Errors before the first chunk raise on the first ``next``;
        a later tampered or truncated segment raises from the iterator, after the chunks before
        it (a consumer that must not act on partial data checks the total length)."""
        from privtrain.crypto._iter import decrypt_iter

        return decrypt_iter(self, Path(src), key, expected_context, Path(src).name[:12])

    # ---------------------------------------------------------------- header-only verbs

    def read_context(self, src: Path) -> Context:
        """The context in the header (authenticated only when the blob is decrypted)."""
        f, header, _ = self._open(Path(src))
        f.close()
        return json.loads(header.context_bytes)  # type: ignore[no-any-return]

    def rewrap(self, src_header_path: Path, key: WrappedKey) -> WrappedKey:
        """Re-wrap a blob's data key under the active KEK (the blob is not rewritten).

        The old wrapped key must unwrap and match the blob's key commitment.
        """
        src = Path(src_header_path)
        f, header, _ = self._open(src)
        f.close()
        if not isinstance(key, WrappedKey):
            raise InputError(f"key for blob {src} must be a WrappedKey")
        aad = wrap_aad(header.file_id, header.context_bytes)
        try:
            data_key = self._provider.unwrap(key, aad)
        except KeyAccessError as e:
            raise KeyAccessError(f"blob {src}: {e.message}") from None
        _, commitment = derive_keys(data_key, header.file_id, header.header_hash)
        if not commitment_ok(commitment, header.commitment):
            raise IntegrityError(
                f"blob {src}: header field key_commitment does not match the data key"
            )
        new = self._provider.wrap(data_key, aad)
        log.info("rewrapped data key of blob %s from %s to %s", src, key.kek_id, new.kek_id)
        return new
