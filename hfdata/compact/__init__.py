"""The compaction stage: closed log segments become Parquet, through a journaled protocol.

`compaction` turns closed segments into Parquet batch by batch (rows with their
arrival, and the batch's tombstones); `optimize` merges a partition's files into one
(removing the versions deleted longer than `history_retention` ago); `upgrade` brings an
older store to the current format; `drop` removes a variable; all three run their batches
through `batch` (journal, write, publish, roll back or forward: steps 4-6 of
docs/contracts.md, "Compaction protocol"). `journal` is a batch's intent record;
`recovery` puts right what a crash left (journals replayed, dead writers' segments
closed) before any job runs; `retention` deletes compacted segments once old;
`quarantine` keeps lines that cannot be parsed; `progress` is the progress bar;
`derive` writes the stats and rollup sidecars of published files (after compaction,
optimize and upgrade) and deletes orphaned ones.
"""

__all__: list[str] = []  # a stage: import from its modules
