"""The Parquet stage: where the hive-partitioned Parquet tree lives, and its files.

`files` writes one sorted, deduplicated Parquet file; `objectstore` keeps the tree
in a bucket (commit records instead of renames); `merge` rewrites a partition's
files as one, window by window. Compaction writes through this stage; reads list
and open files through it.
"""

__all__: list[str] = []  # a stage: import from its modules
