"""Below httpx: one deadline for the whole request, and decompression that keeps the size cap.

A per-read timeout cannot stop a server that trickles its status line and headers a byte a
second: every read succeeds. So every socket of our client is wrapped, and each connect, read
and write gets at most the time left before the request's deadline (set per thread by
`deadline`); past it, the operation fails as a timeout wherever the request is (connect, TLS,
headers or body).

httpx decodes `Content-Encoding` without an output limit: 10 KB of `gzip, gzip` zeros expands
to gigabytes inside one call. `Inflater` decodes the chain itself, a bounded chunk at a time,
and refuses as soon as any layer passes the limit.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from bot.sources import SourceError

CHUNK = 64 * 1024  # the most any layer produces per step
ACCEPT_ENCODING = "gzip, deflate"  # what Inflater decodes; we never ask for br or zstd
_local = threading.local()


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every network operation of this thread's requests by `at` (time.monotonic())."""
    _local.at = at
    try:
        yield
    finally:
        _local.at = None


def _left(timeout: float | None, exc: type[Exception]) -> float | None:
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("whole request over the time limit")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname,
                                                     _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every stream bounded by the calling thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _left(timeout, httpcore.ConnectTimeout),
                                                       local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout),
                                                               socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_by_deadline(client: httpx.Client) -> None:
    """Put DeadlineBackend under every transport of `client` (its own and any proxy mounts).

    httpx does not expose the backend, so this sets httpcore's pool attribute; it fails loudly
    (at client creation, in every test) if a new httpx version renames it."""
    transports = [client._transport, *client._mounts.values()]
    for t in transports:
        pool = getattr(t, "_pool", None)
        if pool is None:
            continue
        backend = pool._network_backend  # AttributeError here means httpcore changed: see above
        if not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)


class _Layer:
    """One coding of the chain: inflate in steps of at most CHUNK bytes out, at most `limit` in all."""

    def __init__(self, coding: str, limit: int, what: str) -> None:
        self.wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.coding, self.limit, self.what = coding, limit, what
        self.d = zlib.decompressobj(self.wbits)
        self.started = False
        self.out = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                chunk = self.d.decompress(data, CHUNK)
            except zlib.error:
                if self.coding == "deflate" and not self.started and self.wbits > 0:
                    self.wbits = -zlib.MAX_WBITS  # "deflate" sent raw, as some servers do
                    self.d = zlib.decompressobj(self.wbits)
                    continue
                raise SourceError(f"{self.what}: body is not valid {self.coding} data") from None
            self.started = True
            data = self.d.unconsumed_tail
            if self.d.eof and self.d.unused_data:  # another gzip member follows
                data, self.d = self.d.unused_data, zlib.decompressobj(self.wbits)
            self.out += len(chunk)
            if self.out > self.limit:
                raise SourceError(f"{self.what}: response over {self.limit / 2**20:.0f} MB refused")
            if chunk:
                yield chunk
            if not data and len(chunk) < CHUNK:  # input used up and no output pending
                return


class Inflater:
    """Decodes a `Content-Encoding` chain (gzip / deflate / identity) chunk by chunk; every
    layer is bounded by `limit` bytes out, so a bomb is refused after at most `limit` bytes."""

    def __init__(self, header: str, limit: int, what: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        self.layers: list[_Layer] = []
        for c in reversed(codings):  # the last coding listed was applied last: undo it first
            if c == "identity":
                continue
            if c not in ("gzip", "x-gzip", "deflate"):
                raise SourceError(f"{what}: unsupported Content-Encoding {c!r}")
            self.layers.append(_Layer(c, limit, what))

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes `data` yields (possibly none yet)."""
        yield from self._through(data, 0)

    def _through(self, data: bytes, i: int) -> Iterator[bytes]:
        if i == len(self.layers):
            yield data
            return
        for chunk in self.layers[i].feed(data):
            yield from self._through(chunk, i + 1)
