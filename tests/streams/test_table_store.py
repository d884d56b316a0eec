"""The table's RocksDB options: faust accepts them and a database opens with them."""

from __future__ import annotations

from pathlib import Path

from faust.stores.rocksdb import RocksDBOptions

from config.settings import WorkerSettings
from streams.table_store import rocksdb_options


def test_the_table_options_bound_rocksdb_memory_and_open_a_database(tmp_path: Path) -> None:
    options = RocksDBOptions(**rocksdb_options(WorkerSettings(rocksdb_block_cache_mb=8, rocksdb_write_buffer_mb=4)),
                             use_rocksdict=True)  # fmt: skip
    assert options.block_cache_size == 8 * 2**20
    assert options.write_buffer_size == 4 * 2**20 and options.max_write_buffer_number == 2
    db = options.open(tmp_path / "partition-0.db")
    db[b"91330100MA2B000001"] = b"{}"
    assert db[b"91330100MA2B000001"] == b"{}"
    db.close()


def test_the_defaults_stay_far_below_fausts() -> None:
    ours = RocksDBOptions(**rocksdb_options(WorkerSettings()), use_rocksdict=True)
    fausts = RocksDBOptions(use_rocksdict=True)
    assert ours.block_cache_size * 16 <= fausts.block_cache_size
    assert ours.write_buffer_size * ours.max_write_buffer_number * 4 <= (
        fausts.write_buffer_size * fausts.max_write_buffer_number)
