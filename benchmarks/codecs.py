"""Size and decode time of the float `value` column under several Parquet codecs.

    python -m benchmarks.codecs                 2,592,000 rows (a bench_s3 Dask partition)
    python -m benchmarks.codecs --rows 100000

Not a workload of the harness and no target: the figures behind "Float column codecs"
in docs/decisions.md. Each column is written as compaction writes it (its row-group
size, page checksums, delta-encoded timestamps) and decoded on one thread with page
checksums verified; the time is the median of seven decodes of the `value` column.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.parquet.files import ROW_GROUP_ROWS

__all__ = ["CODECS", "main", "measure"]

CODECS = (
    ("zstd", "BYTE_STREAM_SPLIT"),  # what compaction writes
    ("lz4", "BYTE_STREAM_SPLIT"),
    ("zstd", "PLAIN"),
    ("lz4", "PLAIN"),
    ("none", "BYTE_STREAM_SPLIT"),
)


def _values(rows: int) -> dict[str, npt.NDArray[np.float64]]:
    rng = np.random.default_rng(0)
    steps = np.arange(rows)
    return {
        "normal, round(3)": rng.normal(20, 5, rows).round(3),
        "smooth signal, round(2)": (
            20 + 5 * np.sin(steps / 5000) + rng.normal(0, 0.05, rows)
        ).round(2),
        "full precision": rng.normal(20, 5, rows),
    }


def measure(values: npt.NDArray[np.float64], compression: str, encoding: str) -> tuple[int, float]:
    """(file bytes, median seconds to decode the value column) for one codec."""
    rows = len(values)
    ts = np.arange(rows, dtype=np.int64) * 500_000_000 + 1_790_812_800_000_000_000
    table = pa.table(
        {"timestamp": pa.array(ts).cast(pa.timestamp("ns", tz="UTC")), "value": values}
    )
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression=compression,
        use_dictionary=False,
        column_encoding={"timestamp": "DELTA_BINARY_PACKED", "value": encoding},
        row_group_size=ROW_GROUP_ROWS,
        write_page_checksum=True,
    )
    data = pa.py_buffer(sink.getvalue())
    times = []
    for _ in range(7):
        start = time.perf_counter()
        pf = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
        pf.read(columns=["value"], use_threads=False)
        times.append(time.perf_counter() - start)
    return data.size, statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2_592_000)
    args = parser.parse_args(argv)
    print(f"{args.rows:,} rows; value column decoded on one thread, checksums verified")
    for name, values in _values(args.rows).items():
        for compression, encoding in CODECS:
            size, seconds = measure(values, compression, encoding)
            print(
                f"{name:24} {compression:5} {encoding:18} "
                f"{size / 1e6:7.2f} MB  decode {seconds * 1e3:6.1f} ms"
            )


if __name__ == "__main__":
    main()
