"""Request bodies read and decompressed incrementally under hard caps (gzip, deflate, br).

A body is never held whole before its size is known: the stream is read in chunks and each chunk is
inflated with an output limit, so a 1 MB gzip of 1 GB of zeros costs at most ``cap`` bytes of memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import IO

import brotli

CHUNK = 64 * 1024
STEP = 1024 * 1024  # output per inflate call: small pieces, so the copy on append stays small
ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "identity", "")


class BodyTooLarge(Exception):
    """The body (compressed or decompressed) is over its limit: a 413."""


class BadEncoding(Exception):
    """The body is not valid for its ``Content-Encoding`` (corrupt, truncated, unknown): a 400."""


def read_chunks(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """The stream's bytes in chunks; :class:`BodyTooLarge` once more than ``limit`` were read."""
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"more than {limit} bytes")
        yield chunk


def decompress(chunks: Iterable[bytes], encoding: str, cap: int) -> bytes:
    """The decoded body; never more than ``cap`` bytes are produced (:class:`BodyTooLarge` beyond)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return _collect(chunks, cap)
    if encoding in ("gzip", "x-gzip"):
        return _inflate(chunks, zlib.MAX_WBITS | 16, cap)
    if encoding == "deflate":
        return _deflate(chunks, cap)
    if encoding == "br":
        return _unbrotli(chunks, cap)
    raise BadEncoding(f"unsupported Content-Encoding {encoding!r}")


def _collect(chunks: Iterable[bytes], cap: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > cap:
            raise BodyTooLarge(f"more than {cap} bytes")
    return bytes(out)


def _deflate(chunks: Iterable[bytes], cap: int) -> bytes:
    """``deflate`` as HTTP means it (zlib-wrapped, RFC 9110) or as some clients send it (raw RFC 1951,
    no header), told apart by the first two bytes, as browsers and curl do; still incremental."""
    pending = iter(chunks)
    head = b""
    for chunk in pending:
        head += chunk
        if len(head) >= 2:
            break
    wbits = zlib.MAX_WBITS if _zlib_header(head) else -zlib.MAX_WBITS
    return _inflate(chain((head,), pending), wbits, cap)


def _zlib_header(head: bytes) -> bool:
    """Whether ``head`` opens a zlib stream (RFC 1950): method 8 (deflate), a window of at most 32 KiB
    and the header's check bits. A raw stream cannot start so: its first block would be a stored one
    with padding bits set, which no encoder writes."""
    if len(head) < 2:
        return False
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _inflate(chunks: Iterable[bytes], wbits: int, cap: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while data and not inflater.eof:
                out += inflater.decompress(data, min(STEP, cap + 1 - len(out)))
                if len(out) > cap:
                    raise BodyTooLarge(f"more than {cap} bytes decompressed")
                data = inflater.unconsumed_tail
    except zlib.error as e:
        raise BadEncoding(f"corrupt compressed body ({e})") from e
    if not inflater.eof:
        raise BadEncoding("truncated compressed body")
    return bytes(out)


def _unbrotli(chunks: Iterable[bytes], cap: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while True:
                out += decoder.process(data, output_buffer_limit=min(STEP, cap + 1 - len(out)))
                if len(out) > cap:
                    raise BodyTooLarge(f"more than {cap} bytes decompressed")
                data = b""
                if decoder.can_accept_more_data() or decoder.is_finished():
                    break
        while not decoder.is_finished():  # output still held back by the per-call limit
            piece = decoder.process(b"", output_buffer_limit=min(STEP, cap + 1 - len(out)))
            if not piece:
                break
            out += piece
            if len(out) > cap:
                raise BodyTooLarge(f"more than {cap} bytes decompressed")
    except brotli.error as e:
        raise BadEncoding(f"corrupt brotli body ({e})") from e
    if not decoder.is_finished():
        raise BadEncoding("truncated brotli body")
    return bytes(out)
