"""The log stage: appended points become JSON Lines, one segment per writer and variable.

`writer` takes points from the `Store` and writes them through `segment` (one open
file, durable as asked); `encode` and `batch` turn values and frames into lines;
`schema` records each variable's kind once; `parse` and `fastparse` read lines back
for compaction and for the log tail of a read. Nothing here knows about Parquet.
"""

__all__: list[str] = []  # a stage: import from its modules
