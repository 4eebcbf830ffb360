"""The read stage: a consistent snapshot of Parquet files and log tail, as frames.

`snapshot` lists a variable's files under the publish lock and runs every read in
the one retry loop; `files` reads one Parquet file (footer cache, row-group
pruning, threaded decode); `tail` parses and caches log segments; `rows` merges
both into one variable's sorted rows. On top: `query` (`Store.read`: options,
window, dedupe, long/wide/asof), `scan` (polars), `info`, and `dask`, which lays the
same snapshot out as a Dask graph; `resample` bins on pandas' rules; `frames` builds
pandas, polars or Arrow output.
"""

__all__: list[str] = []  # the modules are the API: hfdata.read.query, .scan, .info, .dask
