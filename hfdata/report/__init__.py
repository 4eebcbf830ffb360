"""The report stage (issue 19): summaries, gaps, coverage and data-quality findings of
whole variables, merged from the statistics kept for each Parquet file
(`hfdata.parquet.stats`) instead of a scan of every point.

`pieces` splits a variable into pieces with stats (files, overlapping files and the
log tail read as points), `merge` merges their stats, and `summary`, `gaps`,
`coverage` and `quality` answer `Store.summary`, `Store.gaps`, `Store.coverage` and
`Store.quality` from them. This stage sits above `read` (it lists and reads through
it) and below the `Store` facade.
"""

__all__: list[str] = []
