"""Tools on top of the `Store`: the command line and what only it needs.

`cli` is the `hfdata` command; `ingest`, `ingestbatch` and `linesource` read CSV and
JSON Lines input; `views` formats listings; `verify` checks a store; `legacy`
imports the first module's files; `demo` runs the example job.
"""

__all__: list[str] = []  # a stage: import from its modules
