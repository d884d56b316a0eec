"""The RocksDB table store for tables written outside stream iteration.

faust's RocksDB store (``rocksdb://``, rocksdict) puts each key in the database of the
partition of the *event being processed* (``current_event()``) and fails without one. The
enterprise table is written in the commit protocol's step 3, after the batch's events were
iterated (``use_partitioner=True``: the changelog partition comes from the key). This store
takes that same partition — the producer's partition of the key on the changelog topic —
when no event is current, so the key lands in the partition whose changelog it is written to
and moves with it at a rebalance. :func:`register` makes ``rocksdb://`` use it.
"""

from __future__ import annotations

from typing import Any

from faust.stores import STORES
from faust.stores.rocksdb import Store
from faust.streams import current_event

from config.settings import WorkerSettings


class PartitionedRocksDBStore(Store):  # type: ignore[misc]
    def _set(self, key: bytes, value: bytes | None) -> None:
        if current_event() is not None:
            super()._set(key, value)
            return
        topic = self.table.changelog_topic.get_topic_name()
        partition = self.app.producer.key_partition(topic, key).partition
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)


def register() -> None:
    STORES.aliases["rocksdb"] = f"{__name__}:PartitionedRocksDBStore"


def rocksdb_options(worker: WorkerSettings) -> dict[str, Any]:
    """The table's RocksDB options (faust's ``RocksDBOptions``): memory bounded per partition.

    >>> from config.settings import WorkerSettings
    >>> rocksdb_options(WorkerSettings())["block_cache_size"] // 2**20
    64
    """
    return {
        "block_cache_size": worker.rocksdb_block_cache_mb * 2**20,
        "write_buffer_size": worker.rocksdb_write_buffer_mb * 2**20,
        "max_write_buffer_number": 2,
    }
