"""Building import chunks and their checkpoint keys.

A chunk is at most `size` mapped values that share one import strategy (deletions travel in
their own chunks with `importStrategy=DELETE`). Chunks are built from the values in the order
the engine feeds them: fetch requests in a fixed order, each page sorted by value identity, so
the same source data always yields the same chunks.

The key of a chunk is a hash of what the destination will receive: the strategy, the id
scheme and the request body itself (the destination data set and every value with its
identity, value, comment and follow-up flag, in order). The body is encoded once, when the
chunk is built (`Chunk.body`, posted as it is unless the chunk must be split), so the key costs
one SHA-256 over bytes that are needed anyway instead of per-value Python work. It is computed
before any adaptive split, and the order of values inside a chunk is fixed (see above), so

* a resumed run rebuilds the same keys and skips exactly the chunks the destination accepted;
* a changed source value (or mapping) changes the key and the chunk is sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .mapping import DataValue, payload_rows

__all__ = ["KEY_VERSION", "Chunk", "Chunker", "chunk_key", "encode_body", "halves"]

KEY_VERSION = "dvs2"
"""Bumped if the key recipe ever changes, so old checkpoints can never match new chunks."""


@dataclass
class Chunk:
    """Values to post together. `index` is 1-based in build order (for messages only).
    `body`: the encoded import body of all `values` (None for chunks built by hand, which the
    importer then encodes itself)."""

    key: str
    values: list[DataValue]
    strategy: str
    index: int = 0
    body: bytes | None = None

    def __len__(self) -> int:
        return len(self.values)


def encode_body(values: Sequence[DataValue], data_set: str | None) -> bytes:
    """The JSON body of `POST /api/dataValueSets` for `values` (`dataSet` first when known)."""
    payload: dict[str, Any] = {}
    if data_set:
        payload["dataSet"] = data_set
    payload["dataValues"] = payload_rows(values)
    return orjson.dumps(payload)


def _key(body: bytes, *, strategy: str, id_scheme: str) -> str:
    digest = hashlib.sha256("\x1e".join((KEY_VERSION, strategy, id_scheme)).encode())
    digest.update(b"\x1d")
    digest.update(body)
    return digest.hexdigest()[:32]


def chunk_key(
    values: Sequence[DataValue], *, strategy: str, data_set: str | None, id_scheme: str
) -> str:
    """Deterministic checkpoint key (32 hex digits of SHA-256) of a chunk's content: the
    strategy and id scheme, then the body as posted (see the module docstring)."""
    return _key(encode_body(values, data_set), strategy=strategy, id_scheme=id_scheme)


def halves(values: Sequence[DataValue]) -> tuple[list[DataValue], list[DataValue]]:
    """Split for a retry after 504/413/timeout; the first half gets the extra value."""
    middle = (len(values) + 1) // 2
    return list(values[:middle]), list(values[middle:])


class Chunker:
    """Accumulates values per import strategy and emits full chunks as they fill.

    Memory stays at one partial chunk per strategy (normally two: data and deletions).
    """

    def __init__(self, size: int, *, data_set: str | None, id_scheme: str) -> None:
        if size < 1:
            raise ValueError("Chunk size must be at least 1.")
        self.size = size
        self.data_set = data_set
        self.id_scheme = id_scheme
        self._buffers: dict[str, list[DataValue]] = {}
        self.built = 0

    def add(self, value: DataValue, strategy: str) -> Chunk | None:
        """Add a value; return the chunk it completed, if any."""
        buffer = self._buffers.setdefault(strategy, [])
        buffer.append(value)
        if len(buffer) >= self.size:
            self._buffers[strategy] = []
            return self._make(buffer, strategy)
        return None

    def extend(self, values: list[DataValue], strategy: str) -> list[Chunk]:
        """Add a page of values; return the chunks it completed (the same chunks as adding
        the values one by one)."""
        buffer = self._buffers.setdefault(strategy, [])
        buffer.extend(values)
        full: list[Chunk] = []
        start = 0
        while len(buffer) - start >= self.size:
            full.append(self._make(buffer[start : start + self.size], strategy))
            start += self.size
        if start:
            self._buffers[strategy] = buffer[start:]
        return full

    def flush(self) -> Iterator[Chunk]:
        """The remaining partial chunks, in strategy order (deletions last: see engine)."""
        for strategy in sorted(self._buffers, key=lambda s: (s == "DELETE", s)):
            buffer = self._buffers[strategy]
            if buffer:
                self._buffers[strategy] = []
                yield self._make(buffer, strategy)

    def _make(self, values: list[DataValue], strategy: str) -> Chunk:
        self.built += 1
        body = encode_body(values, self.data_set)
        key = _key(body, strategy=strategy, id_scheme=self.id_scheme)
        return Chunk(key=key, values=values, strategy=strategy, index=self.built, body=body)
