"""The Parquet stage: where the hive-partitioned Parquet tree lives, and its files.

`root` is the one contract for a tree's location (`PartsRoot`, `PartFile`): listing,
reading one file, and the compaction protocol's steps. `local` keeps the tree under
`<root>/parquet` (journaled renames); `objectstore` keeps it in a bucket or another path
(commit records instead of renames); `roots` picks one from a store's settings.
`files` writes one sorted, deduplicated Parquet file; `reader` reads one file of any
root (footer cache, row-group pruning); `merge` rewrites a partition's files as one,
window by window. `stats` and `rollups` derive a file's statistics and its rollups
(issue 19); `sidecars` names the files that keep them beside the tree (`_stats/`,
`_rollups/`) and loads them for readers. `tombstones` names and reads the compacted
deletions (`_tombstones/`, issue 20); `versions` is the rule of which stored versions a
tombstone deletes and which one `dedupe` keeps (by `arrived`). Compaction writes through
this stage; reads list and open files through it.
"""

__all__: list[str] = []  # a stage: import from its modules
