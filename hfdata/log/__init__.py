"""The log stage: appended points become JSON Lines, one segment per writer and variable.

Writing: `writer` (`LogWriter`, the append API) checks points and batches and turns
them into lines; `segments` is its table of variables (kind, buffered lines, open
segment); `segment` is one open file, durable as asked; `flusher` is the background
thread (buffered lines out, group commits, rotation by age); `mutex` the writer's lock;
`schema` records each variable's kind once in `_schema.json`; `batch` and `encode`
turn frames into lines. Every line says when it arrived (its own `arrived`, or a
marker line before its batch); `delete` writes tombstone lines. Reading: `parse`
(`parse_log_bytes`) splits a segment into lines and hands them to `fastparse`
(vectorised), which sends what it does not vouch for to `lineparse` (the per-line
reference); `lineparse.resolve_arrival` gives each row its arrival. `lineformat` is the
vocabulary both sides share: field names, the bytes writers produce, the Arrow types,
the value rule.
Nothing here knows about Parquet.
"""

__all__: list[str] = []  # a stage: import from its modules
