"""The compaction stage: closed log segments become Parquet, through a journaled protocol.

`compaction` runs a batch (and optimize, drop, retention); `journal` records a
batch's intent before any output exists and rolls it forward or back after a crash;
`quarantine` keeps lines that cannot be parsed. The protocol is written down in
docs/contracts.md ("Compaction protocol").
"""

__all__: list[str] = []  # a stage: import from its modules
