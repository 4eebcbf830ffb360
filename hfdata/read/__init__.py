"""The read stage: a consistent snapshot of Parquet files and log tail, as frames.

`snapshot` lists a variable's files (log segments, and Parquet files as the store's
`PartsRoot` lists them) under the publish lock and runs every read in the one retry
loop; one Parquet file is read by `hfdata.parquet.reader` through its root, and
`files` decodes many on threads; `tail` parses and caches log segments; `rows`
merges both into one variable's sorted rows. On top: `query` (`Store.read`: options,
window, dedupe, long/wide/asof), `scan` (polars), `info`, and `dask`, which lays the
same snapshot out as a Dask graph; `bins` places a resample's bins as pandas does,
`aggregate` aggregates one variable on them, `fill` fills missing bins, `resample` joins
the three for one variable (and aligns raw points for `how="asof"`); `fromrollups`
answers a resample that composes from the store's rollups (issue 19) from them instead
of the points; `frames` builds pandas, polars or Arrow output. `events` (`Store.asof`,
`Store.around`) reads the spans around many event times through `lookback` and
aggregates windows with `windows`. `versions` says which stored versions a reader
sees (arrival times, tombstones, `as_of`, `dedupe` by arrival; issue 20) and every read
applies it; `history` (`Store.history`) lists them all.
"""

__all__: list[str] = []  # a stage: import from its modules
