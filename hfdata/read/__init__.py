"""The read stage: a consistent snapshot of Parquet files and log tail, as frames.

`query` lists, reads and merges a variable's Parquet files and log tail for
`Store.read`, `scan` and `info`; `resample` bins on pandas' rules; `frames` builds
pandas, polars or Arrow output; `dask` lays the same snapshot out as a Dask graph.
"""

__all__: list[str] = []  # a stage: import from its modules
