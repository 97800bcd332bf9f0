"""Building import chunks and their checkpoint keys.

A chunk is at most `size` mapped values that share one import strategy (deletions travel in
their own chunks with `importStrategy=DELETE`). Chunks are built from the values in the order
the engine feeds them: fetch requests in a fixed order, each page sorted by value identity, so
the same source data always yields the same chunks.

The key of a chunk is a hash of what the destination will receive: the destination data set,
the strategy, the id scheme and every value (identity, value, comment, follow-up), sorted. It is
computed once, before any adaptive split, so

* a resumed run rebuilds the same keys and skips exactly the chunks the destination accepted;
* a changed source value (or mapping) changes the key and the chunk is sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .mapping import DataValue

__all__ = ["KEY_VERSION", "Chunk", "Chunker", "chunk_key", "halves"]

KEY_VERSION = "dvs1"
"""Bumped if the key recipe ever changes, so old checkpoints can never match new chunks."""


@dataclass
class Chunk:
    """Values to post together. `index` is 1-based in build order (for messages only)."""

    key: str
    values: list[DataValue]
    strategy: str
    index: int = 0

    def __len__(self) -> int:
        return len(self.values)


def chunk_key(
    values: Sequence[DataValue], *, strategy: str, data_set: str | None, id_scheme: str
) -> str:
    """Deterministic checkpoint key (32 hex digits of SHA-256) of a chunk's content.

    Fields are joined with control characters that cannot occur in DHIS2 identifiers; a value
    or comment containing them could only collide with another chunk of equally odd text.
    """
    rows = sorted(
        "\x1f".join((*v.identity(), v.value or "", v.comment or "", "1" if v.followup else ""))
        for v in values
    )
    digest = hashlib.sha256()
    digest.update("\x1e".join((KEY_VERSION, data_set or "", strategy, id_scheme)).encode())
    for row in rows:
        digest.update(b"\x1d")
        digest.update(row.encode("utf-8"))
    return digest.hexdigest()[:32]


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

    def flush(self) -> Iterator[Chunk]:
        """The remaining partial chunks, in strategy order (deletions last: see engine)."""
        for strategy in sorted(self._buffers, key=lambda s: (s == "DELETE", s)):
            buffer = self._buffers[strategy]
            if buffer:
                self._buffers[strategy] = []
                yield self._make(buffer, strategy)

    def _make(self, values: list[DataValue], strategy: str) -> Chunk:
        self.built += 1
        key = chunk_key(values, strategy=strategy, data_set=self.data_set, id_scheme=self.id_scheme)
        return Chunk(key=key, values=values, strategy=strategy, index=self.built)
