"""`Store` and `open_store`: the public facade that wires the stages together.

The append side lives in `hfdata.log.writer`, compaction and its maintenance in
`hfdata.compact`, reading in `hfdata.read`; a `Store` holds the settings, one `LogWriter`
and one `PartsRoot` (where its Parquet tree lives, `hfdata.parquet.root`) and forwards to
them, holding no logic of its own.
"""

from __future__ import annotations

import math
import warnings
import weakref
from datetime import timedelta
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

from hfdata.compact import compaction as _compaction
from hfdata.compact import drop as _drop
from hfdata.compact import optimize as _optimize
from hfdata.compact import recovery as _recovery
from hfdata.compact import retention as _log_retention
from hfdata.compact import upgrade as _upgrade
from hfdata.errors import InvalidArgument, StoreClosed, UpgradeRequired
from hfdata.features import run as _features
from hfdata.kinds import Kind
from hfdata.layout import Partition, log_dir, log_root, validate_name
from hfdata.log.segment import DURABILITIES, Durability, LogPolicy
from hfdata.log.writer import LogWriter
from hfdata.parquet.objectstore import normalise_uri
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.roots import open_root
from hfdata.read import dask as _dask
from hfdata.read import events as _events
from hfdata.read import history as _history
from hfdata.read import info as _info
from hfdata.read import query as _query
from hfdata.read import scan as _scan
from hfdata.read import snapshot as _snapshot
from hfdata.read.query import MAX_ROWS
from hfdata.report import coverage as _coverage
from hfdata.report import gaps as _gaps
from hfdata.report import html as _html
from hfdata.report import quality as _quality
from hfdata.report import summary as _summary
from hfdata.settings import (
    FORMAT_VERSION,
    SETTINGS_FILE,
    StoreSettings,
    load_or_create,
    recorded_format_version,
)
from hfdata.timeparse import (
    Ambiguous,
    EpochUnit,
    Nonexistent,
    check_dst_options,
    format_ns,
    to_ns,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import dask.dataframe as dd
    import pandas as pd
    import polars as pl

    from hfdata.compact.batch import CompactionReport
    from hfdata.compact.retention import PruneReport
    from hfdata.read.info import VariableInfo

__all__ = ["Store", "open_store", "upgrade_store"]

_UNSET: Final[Any] = object()


class Store:
    """A handle on an hfdata store: append points, compact them, read them back.

    Create one with `open_store`, not with this constructor. A store is a local
    directory holding `hfdata.json` (the settings fixed at creation), the append log
    (`log/`, JSON Lines segments) and the Parquet tree (`parquet/`, or the store's
    `parquet_root`); docs/contracts.md describes every file. Appends go to this
    handle's own log segments; `compact` turns closed segments into Parquet; every read
    merges the Parquet files with the log tail, so a point appended through this handle
    is readable as soon as `append` returns.

    A `Store` may be shared by threads, and several processes may open one store and
    append at the same time (each writes its own segments). Close it with `close` or a
    `with` block; a store nobody holds any more is closed by the garbage collector,
    with a `ResourceWarning`, as an unclosed file is.

    Attributes
    ----------
    root : pathlib.Path
        The store's directory.
    settings : hfdata.settings.StoreSettings
        The settings recorded in `hfdata.json` when the store was created.
    policy : hfdata.log.segment.LogPolicy
        This handle's durability mode and segment rotation limits.
    writer_id : str
        The id that names this handle's log segments (`<writer_id>-<seq>.jsonl`).

    Examples
    --------
    >>> with hfdata.open_store("data/hf") as store:
    ...     store.append("sensor_temp", "2026-11-26T09:00Z", 25.5)
    ...     frame = store.read("sensor_temp")
    """

    def __init__(
        self,
        root: Path,
        settings: StoreSettings,
        policy: LogPolicy,
        *,
        flush_interval: float,
        fsync_interval: float | None,
        max_open_segments: int,
        parts: PartsRoot,
        max_metadata_bytes: int | None = 65_536,
    ) -> None:
        self.root = root
        self.settings = settings
        self.parts = parts  # where the Parquet tree lives
        self.policy = policy
        self._writer = LogWriter(
            root,
            settings.time_rules(),
            policy,
            flush_interval=flush_interval,
            fsync_interval=fsync_interval,
            max_open_segments=max_open_segments,
            max_metadata_bytes=max_metadata_bytes,
        )
        self.writer_id = self._writer.writer_id
        # The hot path: calls go straight to the writer, without a forwarding frame.
        self.append = self._writer.append  # type: ignore[method-assign]
        # A store nobody holds (a notebook cell run again) is closed by the garbage
        # collector, as an unclosed file is. The callback holds the writer, never the
        # store, and nothing the writer owns (its flusher thread, the bound `append`)
        # refers back to the store. At interpreter exit the writers' atexit hook closes
        # them instead, without a warning.
        self._finalizer = weakref.finalize(self, _collected, self._writer, repr(self))
        self._finalizer.atexit = False

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> Store:
        """Enter a `with` block.

        Returns
        -------
        Store
            This store, closed by `__exit__` when the block ends.
        """
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store when the `with` block ends, whether or not it raised.

        Parameters
        ----------
        exc_type, exc, tb
            The exception that ended the block, if any; it is not suppressed.

        Raises
        ------
        DurabilityError
            As `close` does: a segment could not be written, fsynced or closed.
        """
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.policy.durability
        return f"<hfdata.Store {str(self.root)!r} ({state})>"

    @property
    def closed(self) -> bool:
        """Whether `close` has run.

        A closed store refuses appends, reads and maintenance with `StoreClosed`; open
        the store again with `open_store`.

        Returns
        -------
        bool
            True once the store is closed.
        """
        return self._writer.closed

    # -- appending -------------------------------------------------------------------------
    def append(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        *,
        kind: Kind | None = None,
    ) -> None:
        """Append one point to a variable.

        Returns once the point is as durable as the store's `durability` mode promises:
        handed to the operating system (`"flush"`), fsynced (`"fsync"`), or in this
        process's buffer, written by the flusher within `flush_interval` (`"buffered"`).
        The point is checked completely before anything is written, so a refused point
        leaves nothing behind. A variable's first point fixes its kind (recorded in
        `log/<variable>/_schema.json`); every later value must be of that kind.

        Parameters
        ----------
        variable : str
            The variable's name: 1 to 200 characters, not `.` or `..`, no control
            characters (docs/contracts.md, "Names"). A new name creates the variable.
        timestamp : datetime, pandas.Timestamp, numpy.datetime64, str or number
            When the point was taken, stored in UTC to the nanosecond. Aware times are
            converted to UTC; naive ones are read in the store's `naive_timezone` (UTC
            unless set at creation). Strings must be ISO-8601 (`YYYY-MM-DD`, optionally
            `T` or a space and `HH:MM[:SS[.fraction]]`, optionally `Z` or an offset).
            Numbers are times since 1970 only if the store has an `epoch_unit`.
        value : float, int, bool, str, dict, list or None
            The value. Numbers are stored as float64 unless the variable's kind is
            `"int"`; dicts and lists are JSON (kind `"json"`); None is a missing value
            of any kind and fixes no kind.
        metadata : dict, optional
            A JSON object stored with the point (numpy scalars are stored as JSON
            numbers and booleans). Encoded, it may take at most the store's
            `max_metadata_bytes` (64 KiB unless set at `open_store`). Default None.
        kind : {"float", "int", "bool", "string", "json"}, optional
            The kind to fix for a new variable, instead of the one inferred from the
            value (`kind="int"` is the only way to store int64). For an existing
            variable it must equal the recorded kind. Default None.

        Raises
        ------
        InvalidVariableName
            `variable` breaks the naming rules.
        InvalidTimestamp
            The timestamp cannot be read (not ISO-8601, a bare number without an
            `epoch_unit`, NaT, outside 1677-2262), or, unless the store was created with
            `nonexistent=` / `ambiguous=`, falls in a daylight-saving gap or fold of
            `naive_timezone`.
        InvalidValue
            The value is of no storable type, an int outside 64 bits, text that is not
            valid Unicode, or JSON holding NaN or infinity.
        InvalidMetadata
            The metadata is not a JSON object with string keys and finite numbers, or
            encodes to more than `max_metadata_bytes`.
        SchemaMismatch
            The value, or `kind`, differs from the variable's kind.
        ValueError
            `kind` is not one of the kinds above.
        CorruptFile
            The variable's `_schema.json` cannot be read.
        StoreClosed
            The store is closed (a buffered append racing `close` may or may not have
            been written).
        DurabilityError
            Writing or fsyncing the segment failed, here or, since the last report, in
            the flusher thread; nothing was acknowledged (docs/contracts.md,
            "Durability").

        Examples
        --------
        >>> store.append("sensor_temp", "2026-11-26T09:00Z", 25.5, {"room": "a"})
        >>> store.append("counter", "2026-11-26T09:00Z", 1, kind="int")
        """
        # Only `help(Store.append)` reaches this body: `__init__` binds each instance's
        # `append` straight to its `LogWriter.append`, which does the same.
        self._writer.append(variable, timestamp, value, metadata, kind=kind)

    def append_many(
        self,
        variable: str,
        data: Any,
        *,
        kind: Kind | None = None,
        epoch_unit: EpochUnit | None = None,
        timestamp_format: str | None = None,
    ) -> int:
        """Append a batch of points to a variable.

        The whole batch is checked before anything is written, and its kind fixed only
        once it is accepted. It is then written in runs of 200,000 rows, each as durable
        as the store's `durability` mode promises; points appended one by one before
        this call are written first.

        Parameters
        ----------
        variable : str
            The variable's name (the rules of `append`). A new name creates it.
        data : pandas.DataFrame, pandas.Series, polars.DataFrame or pyarrow.Table
            The points. A pandas Series needs a `DatetimeIndex` and holds the values. A
            pandas DataFrame takes its timestamps from a `timestamp` column or else its
            `DatetimeIndex`; a polars DataFrame or an Arrow table (or record batch)
            needs a `timestamp` column. The values are the `value` column, or the one
            column besides `timestamp` and `metadata`; an optional `metadata` column
            holds one dict (or None) per row. Timestamps and values follow `append`'s
            rules.
        kind : {"float", "int", "bool", "string", "json"}, optional
            The kind to fix for a new variable instead of the one inferred from the
            values; for an existing variable it must equal the recorded kind.
        epoch_unit : {"s", "ms", "us", "ns"}, optional
            Read numeric timestamps as time since 1970 in this unit, for this call
            (overriding the store's `epoch_unit`). Default None: the store's.
        timestamp_format : str, optional
            A strftime format (e.g. `"%d/%m/%Y %H:%M"`; `%z` honoured, the whole string
            must match) for string timestamps that are not ISO-8601. Default None.

        Returns
        -------
        int
            The number of points appended (0 for an empty batch).

        Raises
        ------
        TypeError
            `data` is not an accepted container, or its timestamp or value column
            cannot be found.
        InvalidVariableName, InvalidTimestamp, InvalidValue, InvalidMetadata
            A name, timestamp, value or metadata row breaks `append`'s rules (the
            message names the row); nothing was written.
        SchemaMismatch
            The values, or `kind`, differ from the variable's kind.
        ValueError
            `kind` or `epoch_unit` is not one of the values above.
        CorruptFile
            The variable's `_schema.json` cannot be read.
        StoreClosed
            The store is closed.
        DurabilityError
            A write or fsync failed. Runs written before it stay: read the batch's
            time range back, or read with `dedupe="last"`, before retrying.

        Examples
        --------
        >>> index = pd.date_range("2026-11-26T09:00Z", periods=3, freq="10ms")
        >>> store.append_many("sensor_rh", pd.Series(40.0, index=index))
        3
        """
        return self._writer.append_many(
            variable, data, kind=kind, epoch_unit=epoch_unit, timestamp_format=timestamp_format
        )

    def flush(self) -> None:
        """Write out buffered points, and fsync them when the mode asks for it.

        In `"buffered"` mode the points still in this process's buffer are written to
        their segments. With `durability="fsync"` or an `fsync_interval`, every segment
        written since its last fsync is fsynced, so the points appended so far survive
        a power loss.

        Raises
        ------
        StoreClosed
            The store is closed.
        DurabilityError
            A write or fsync failed, now or earlier in the flusher thread.
        """
        self._writer.flush()

    def rotate(self, variables: list[str] | None = None) -> None:
        """Close this handle's active log segments now, so that `compact` takes them.

        Segments otherwise close when they reach `max_segment_bytes` or
        `max_segment_age`, or when the store closes. Buffered points are written first.
        The next append to a variable opens a new segment.

        Parameters
        ----------
        variables : list of str, optional
            The variables whose segments to close; names this handle has not appended
            to are skipped. Default None: every variable.

        Raises
        ------
        StoreClosed
            The store is closed.
        DurabilityError
            Writing or closing a segment failed.
        """
        self._writer.rotate(variables)

    def close(self) -> None:
        """Write out and close every segment; the store refuses further calls.

        Buffered points are written and, with `durability="fsync"` or an
        `fsync_interval`, fsynced; the flusher thread stops. Closing again does
        nothing.

        Raises
        ------
        DurabilityError
            A segment could not be written, fsynced or closed, now or earlier in the
            flusher thread (the first such error; every segment is closed anyway).
        """
        self._finalizer.detach()
        self._writer.close()

    # -- maintenance and reading (implemented in their own modules) ------------------------------
    def compact(
        self,
        *,
        variables: list[str] | None = None,
        include_active: bool = False,
        progress: bool | None = None,
        wait: bool = True,
    ) -> CompactionReport:
        """Turn closed log segments into Parquet.

        Each variable's closed segments are parsed, sorted by timestamp (equal
        timestamps keep arrival order) and written as one Parquet file per partition
        and batch, then moved to `log/<variable>/compacted/`. Readers see a batch whole
        or not at all; a crash or an I/O error rolls it back or forward, so no point is
        lost or doubled (docs/contracts.md, "Compaction protocol"). Lines that are not
        valid points, and the torn last line of a writer that died, go to
        `_quarantine/`. Active segments of writers that died are closed and taken.
        Compacted segments older than the store's `log_retention` are deleted. One
        compaction runs at a time per store, across processes.

        Parameters
        ----------
        variables : list of str, optional
            The variables to compact. Default None: every variable with a log.
        include_active : bool, default False
            First close this handle's active segments of those variables (as `rotate`
            does), so that every point appended through it is compacted. Other
            writers' active segments stay in the log.
        progress : bool, optional
            Show a progress bar (tqdm). Default None: only when a terminal or a
            notebook is watching.
        wait : bool, default True
            Wait for a compaction already running; False raises
            `CompactionInProgress` instead.

        Returns
        -------
        CompactionReport
            `segments`, `rows`, `partitions` and `files` compacted, lines
            `quarantined`, and the `seconds` taken.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name in `variables` breaks the naming rules.
        VariableNotFound
            A name in `variables` is not in the store.
        CompactionInProgress
            Another compaction is running and `wait` is False.
        CompactionFailed
            An I/O error (a full disk, a lost connection to the object store); the
            batch was rolled back or forward. Fix the cause and compact again.
        CorruptFile
            A variable's `_schema.json` cannot be read.
        DurabilityError
            With `include_active`: an active segment could not be closed.
        """
        self._check_open()
        self._check_known(variables)
        if include_active:
            self.rotate(variables)
        return _compaction.compact(
            self.root,
            self.settings,
            variables=variables,
            progress=progress,
            wait=wait,
            parts=self.parts,
        )

    def optimize(
        self,
        variables: list[str] | None = None,
        *,
        dedupe: Literal["last", "first"] | None = None,
        progress: bool | None = None,
    ) -> CompactionReport:
        """Merge each partition's Parquet files into one sorted file.

        Every compaction that reaches a partition adds a file to it (late data, say);
        reads open each of them. `optimize` merges a partition's files, in the order
        they were written, into one file sorted by timestamp (equal timestamps keep
        their order), about 2 million rows at a time, so its memory does not grow with
        the partition. Readers see the old files or the new one, never both; an I/O
        error rolls the merge back or forward. With a `parquet_root` shared by several
        stores, only the files this store compacted are merged. Waits for a running
        compaction.

        Parameters
        ----------
        variables : list of str, optional
            The variables to optimize. Default None: every variable.
        dedupe : {"last", "first"}, optional
            Keep only the last (or first) point of each timestamp, in arrival order.
            Default None: keep every point; a partition with one file is then left
            alone.
        progress : bool, optional
            Show a progress bar (tqdm). Default None: only when a terminal or a
            notebook is watching.

        Returns
        -------
        CompactionReport
            `rows` and `files` written and `partitions` merged (`segments` and
            `quarantined` are 0), and the `seconds` taken.

        Raises
        ------
        StoreClosed
            The store is closed.
        ValueError
            `dedupe` is not "last", "first" or None.
        InvalidVariableName
            A name in `variables` breaks the naming rules.
        VariableNotFound
            A name in `variables` is not in the store.
        CompactionFailed
            An I/O error; the merge was rolled back or forward. Fix the cause and run
            it again.
        CorruptFile
            A Parquet file of a partition cannot be read (the message names it).
        """
        self._check_open()
        self._check_known(variables)
        return _optimize.optimize(
            self.root,
            self.settings,
            variables=variables,
            dedupe=dedupe,
            progress=progress,
            parts=self.parts,
        )

    def prune_log(
        self, older_than: timedelta = timedelta(0), *, variables: list[str] | None = None
    ) -> PruneReport:
        """Delete compacted log segments now, rather than when the log retention runs out.

        Compacted segments (`log/<variable>/compacted/`) hold points already in Parquet,
        kept as a second copy for the store's `log_retention` (default 7 days) after
        their last write, then deleted by the next compaction. This deletes those last
        written at least `older_than` ago. Segments not yet compacted are never
        touched. Waits for a running compaction.

        Parameters
        ----------
        older_than : datetime.timedelta, default timedelta(0)
            Delete only segments last written at least this long ago; `timedelta(0)`
            deletes every compacted segment.
        variables : list of str, optional
            The variables whose log to prune. Default None: every variable.

        Returns
        -------
        PruneReport
            The `files` deleted and their `bytes`.

        Raises
        ------
        StoreClosed
            The store is closed.
        ValueError
            `older_than` is not a non-negative `timedelta`.
        InvalidVariableName
            A name in `variables` breaks the naming rules.
        VariableNotFound
            A name in `variables` is not in the store.
        CompactionFailed
            An I/O error while deleting; run it again once the cause is fixed.
        """
        self._check_open()
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ValueError(
                f"older_than must be a non-negative timedelta, got {older_than!r}; "
                "e.g. timedelta(days=1), or timedelta(0) for every compacted segment"
            )
        self._check_known(variables)
        return _log_retention.prune_log(
            self.root, older_than.total_seconds(), variables=variables, parts=self.parts
        )

    def _check_known(self, variables: list[str] | None) -> None:
        """`VariableNotFound` for a name the store does not hold (a likely typo)."""
        if variables is None:
            return
        known = set(_snapshot.variable_names(self.root, self.parts))
        for name in variables:
            validate_name(name)
            if name not in known:
                raise _snapshot.not_found(self.root, name, self.parts)

    def drop(self, variable: str) -> None:
        """Remove a variable entirely: its log (with its kind), Parquet and quarantine.

        Readers see the variable whole or gone, never in part. Waits for a running
        compaction. With a `parquet_root` shared by several stores, the variable's
        Parquet files there are removed too, whichever store wrote them. The name may
        be used again afterwards, with any kind.

        Parameters
        ----------
        variable : str
            The variable to remove.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        """
        validate_name(variable)
        self._writer.forget(variable)
        _drop.drop(self.root, self.settings, variable, self.parts)

    def delete(self, variable: str, start: Any, end: Any) -> None:
        """Delete the points of `[start, end)` that arrived before this call.

        Records a tombstone (one line in the variable's log, as durable as the store's
        durability mode makes a point: under `"fsync"` it is on disk when this returns)
        and rewrites nothing, so it takes the same short time whatever the variable's
        size. Points appended to the range afterwards are not deleted. The deleted
        points stay in the store's history until `optimize` removes them.

        Parameters
        ----------
        variable : str
            The variable to delete from.
        start, end : timestamp-like
            The range `[start, end)`, in any form `read` accepts; both are required.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        InvalidTimestamp
            `start` or `end` cannot be read as a time.
        InvalidArgument
            `start` or `end` is missing, or `start` is not before `end`.
        DurabilityError
            The tombstone could not be written (nothing was deleted).

        Examples
        --------
        >>> store.delete("sensor_temp", "2026-11-26T09:00Z", "2026-11-26T10:00Z")
        """
        self._check_open()
        encoded = validate_name(variable)
        for name, bound in (("start", start), ("end", end)):
            if bound is None:
                raise InvalidArgument(
                    f"delete needs both start and end ({name} is None); to remove a whole "
                    "variable use drop",
                    argument=name,
                )
        rules = self.settings.time_rules()
        lo, hi = to_ns(start, rules), to_ns(end, rules)
        if lo >= hi:
            raise InvalidArgument(
                f"start ({format_ns(lo)}) must be before end ({format_ns(hi)}); "
                "delete takes the half-open interval [start, end)",
                argument="start",
            )
        if not log_dir(self.root, variable).is_dir() and not self.parts.holds(encoded):
            raise _snapshot.not_found(self.root, variable, self.parts)
        self._writer.delete(variable, lo, hi)

    def history(
        self, variable: str, start: Any = None, end: Any = None, *, as_of: Any = None
    ) -> pd.DataFrame:
        """Every stored version of every point of one variable in `[start, end)`.

        A version is one append of a timestamp: a later append of the same timestamp is
        a correction (`read(dedupe="last")` shows it instead), and `delete` hides the
        versions of its range that arrived before it. History shows them all, with when
        each arrived and whether, and since when, a correction or a deletion hides it.
        Deleted versions stay until `optimize` removes those older than the store's
        `history_retention`.

        Parameters
        ----------
        variable : str
            The variable.
        start, end : timestamp, optional
            The half-open window `[start, end)`, in any form `read` accepts. Default
            None: unbounded.
        as_of : timestamp, optional
            The history as known at this time: versions that had arrived by then, and
            corrections and deletions made by then. Default None: now.

        Returns
        -------
        pandas.DataFrame
            Indexed by `timestamp` (UTC), sorted by timestamp then arrival; columns
            `value`, `metadata` (Python objects, or None), `arrived` (UTC: when its
            append was made), `superseded_at` (the arrival of the next version of that
            timestamp that is not deleted; NaT if none) and `deleted_at` (when the
            earliest deletion hiding it was recorded; NaT if none).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        InvalidTimestamp
            `start`, `end` or `as_of` cannot be read as a timestamp.
        ValueError
            `start` is not before `end`.
        CorruptFile
            A Parquet file or the variable's `_schema.json` cannot be read.

        Examples
        --------
        >>> store.history("sensor_temp", "2026-11-26T09:00Z", "2026-11-26T10:00Z")
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _history.history(
            self.root, self.parts, self.settings, variable, start, end, as_of=as_of
        )

    def read(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        resample: Any = None,
        agg: Any = "mean",
        closed: Literal["left", "right"] | None = None,
        label: Literal["left", "right"] | None = None,
        origin: Any = "start_day",
        offset: Any = None,
        fill: Any = None,
        limit: int | None = None,
        max_hold: Any = None,
        how: Literal["long", "wide", "asof"] = "long",
        tolerance: Any = None,
        output: Literal["pandas", "polars", "arrow"] = "pandas",
        metadata: bool | Literal["expand"] = False,
        dedupe: Literal["last", "first"] | None = None,
        include_log: bool = True,
        max_rows: int | None = MAX_ROWS,
        rollups: bool = True,
        as_of: Any = None,
    ) -> Any:
        """Read the points of one or several variables in `[start, end)`.

        The Parquet files and the log tail are read from one consistent snapshot, so a
        compaction running meanwhile never makes a point vanish or appear twice; points
        appended through this store are included (buffered ones are written first).
        Rows are sorted by timestamp; equal timestamps keep arrival order. Nothing is
        deduplicated unless `dedupe` asks.

        Parameters
        ----------
        variables : str or list of str
            One variable, or several distinct ones.
        start, end : timestamp, optional
            The half-open window `[start, end)`, in any form `append` accepts (naive
            times in the store's `naive_timezone`). Default None: unbounded.
        resample : str, timedelta or pandas.DateOffset, optional
            Aggregate into bins of this pandas frequency (`"100ms"`, `"1s"`, `"1min"`,
            `"1h"`, `"1D"`, `"W"`, `"MS"`, `"ME"`, ...), exactly as pandas
            `Series.resample(rule, closed=, label=, origin=, offset=)` places them,
            empty bins included (count, sum and nunique 0, the others missing). The
            bins are those pandas makes for the first and last point (of all
            variables, with `how="wide"`); given both `start` and `end`, those it makes
            for a series spanning the window (`start` to `end` minus 1 ns), so empty
            bins at either end are included. Default None: raw points.
        agg : str, tuple, callable, list or dict, default "mean"
            With `resample`: "mean", "sum", "min", "max", "count", "first", "last",
            "median", "std", "var", "sem", "nunique", "ohlc" (columns `open`, `high`,
            `low`, `close`), each equal to pandas' resample method of that name;
            "rms" (`sqrt(mean(x**2))`), "ptp" (`max - min`); a quantile as
            `("quantile", 0.9)` or `"q90"` (`"q"` and a percentage 0-100, decimals
            allowed: `"q99.9"`, `"q2.5"`; pandas' `quantile`, linear interpolation);
            or a callable called with each non-empty bin's values as a numpy array (NaN
            included; an empty bin is missing without a call). One of these gives the
            column `value`; a list gives one column each (the name, `q90`, or a
            callable's `__name__`); a dict gives its keys as the columns
            (`{"p90": lambda a: np.quantile(a, .9)}`). "twa" is the time-weighted mean
            of numbers: each point's value holds until the next point (a step, as
            TimescaleDB's `time_weight('LOCF')`), and a bin's value is the integral
            of that step over the bin's covered time divided by that time (missing
            where nothing is covered); the value in force at `start` is the last
            point before it, in any earlier partition or the log. docs/decisions.md,
            "Issue 17: the time-weighted average", defines it exactly.
        closed, label : {"left", "right"}, optional
            Which side of a bin is closed, and which edge labels it; None (default):
            pandas' default for the rule ("right" for "ME", "QE", "YE", "W" and
            `origin="end"`, "left" otherwise).
        origin : {"start_day", "epoch", "start", "end", "end_day"} or timestamp
            What fixed-length bins are aligned to, as pandas' `origin` (a timestamp in
            any form `start` accepts). With `start` and `end`, "start" and "end" are
            the window's. Calendar rules ("D", "W", "MS", ...) take only "start_day".
        offset : str or timedelta, optional
            Shift fixed-length bins by this duration from `origin` (pandas' `offset`;
            not with `origin="end"`/`"end_day"`, where pandas misplaces the bins).
        fill : {"ffill", "bfill", "nearest", "linear", "time"} or number, optional
            Fill missing bins after aggregation, per column (per variable with
            `how="wide"` or long form): pandas' `ffill`, `bfill`,
            `interpolate(method=...)` with its defaults (leading gaps stay missing,
            trailing ones take the last value) or `fillna(number)`. Default None.
        limit : int, optional
            With `fill`: fill at most this many consecutive missing bins (at least 1),
            as pandas' `limit`. Default None: all.
        max_hold : str or timedelta, optional
            With `agg="twa"`: a value holds at most this long (e.g. `"5s"`); across a
            longer gap nothing is known until the next point. Default None: until the
            next point.
        how : {"long", "wide", "asof"}, default "long"
            The shape for several variables. `"long"`: columns `variable` and `value`
            (or the aggregations), one row per point or bin. `"wide"`: one column per
            variable (`<variable>.<agg>` for several aggregations) on a common grid;
            needs `resample`. `"asof"`: raw points aligned, one row per timestamp of
            any variable and one column per variable holding its latest value at or
            before that time (as `pandas.merge_asof(direction="backward")`); no
            `resample`.
        tolerance : str or timedelta, optional
            With `how="asof"`: leave a value missing when its latest point is older than
            this (e.g. `"50ms"`). Default None: any age.
        output : {"pandas", "polars", "arrow"}, default "pandas"
            The type of the result.
        metadata : bool or "expand", default False
            With raw points in long form: True adds a `metadata` column (dicts in
            pandas, JSON text in polars and Arrow); `"expand"` adds one column per
            metadata key instead (in first-seen order; a key named like an existing
            column becomes `metadata.<key>`; values that do not share one type stay
            JSON text).
        dedupe : {"last", "first"}, optional
            Keep only the last (or first) point of each timestamp to arrive (its
            append's time: a later append of a timestamp is a correction), whichever
            files they sit in (ties: the later, or earlier, in read order), before
            anything else. Default None: keep every point.
        include_log : bool, default True
            Include the points still in the log. False reads the Parquet files only
            (compacted points, and the deletions compacted with them).
        max_rows : int or None, default 20_000_000
            Refuse a resample whose bins would be more rows than this (rows, not cells;
            counted before any bin is built). None: no limit. Raw points are not
            limited.
        rollups : bool, default True
            Answer a resample from the store's rollups (per-file aggregates at its
            `rollups` resolutions, "1min" and "1h" by default) rather than every point,
            when it composes from them: a float, int or bool variable; a fixed rule
            closed on the left, a whole multiple of a resolution with every bin edge on
            that resolution's grid (`origin`/`offset` considered; "start", "end" and
            "end_day" only with both `start` and `end`); aggregations among count, sum,
            mean, min, max, first, last, ohlc, std, var and sem; no `dedupe`. Bins cut
            by `start` or `end`, files without rollups and the log tail are read from
            their points. count, min, max, first, last and ohlc equal the point read's
            exactly; sum, mean, std, var and sem add in another order and agree within
            1e-12 relative to the size of the bin's values (sum: the sum of their
            magnitudes; mean, std: the largest magnitude; var: its square); int sums are
            exact. Result types are the point read's. A read that does not compose reads
            the points. False: always read the points.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.
            With `as_of`, `dedupe` keeps the version that was the last (first) to
            arrive by then, so `as_of` with `dedupe="last"` is the series exactly as a
            reader saw it at that time; a resample reads points, not rollups.

        Returns
        -------
        pandas.DataFrame, polars.DataFrame or pyarrow.Table
            In pandas, indexed by a tz-aware UTC `timestamp`; in polars and Arrow,
            `timestamp` is the first column (`timestamp[ns, UTC]`). One variable gives a
            `value` column (or one column per aggregation); several give the shape of
            `how`. `json` values are Python objects in pandas and JSON text otherwise.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store (the message suggests close names).
        InvalidTimestamp
            `start` or `end` cannot be read as a timestamp.
        InvalidArgument
            An option is invalid or options contradict each other (`how="wide"` without
            `resample`, `tolerance` without `how="asof"`, `metadata` with `resample`,
            `fill`, `closed`, `label`, `origin` or `offset` without `resample`, `limit`
            without `fill` or below 1, an unknown rule, fill or aggregation, an
            aggregation the values' kind does not have, no names or repeated ones), or
            variables of different kinds are read in long form; `option` names the
            argument. A `ValueError`.
        ValueError
            `start` is not before `end`.
        AggregationFailed
            A callable `agg` raised on a bin (the message names the aggregation and
            the bin; the cause is the function's error).
        MissingDependency
            `fill="nearest"` without scipy.
        TypeError
            `max_rows` is not an int or None.
        ResultTooLarge
            A resample would make more than `max_rows` rows; the message names the
            count and the ways out (a shorter window, a coarser rule, `how="long"`, a
            larger `max_rows`).
        CorruptFile
            A Parquet file or a variable's `_schema.json` cannot be read (the message
            names it and how to repair it).

        Examples
        --------
        >>> store.read("sensor_temp", start="2026-11-26T09:00Z", end="2026-11-26T10:00Z")
        >>> store.read("sensor_temp", resample="1min", agg="ohlc")
        >>> store.read(["sensor_temp", "sensor_rh"], resample="1s", how="wide")
        >>> store.read("sensor_temp", resample="1min", agg=["mean", "q90", np.ptp])
        >>> store.read("sensor_temp", resample="15min", closed="right", label="right",
        ...            origin="epoch", offset="5min", fill="ffill", limit=2)
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _query.read(
            self.root,
            self.parts,
            self.settings,
            variables,
            start,
            end,
            resample=resample,
            agg=agg,
            closed=closed,
            label=label,
            origin=origin,
            offset=offset,
            fill=fill,
            limit=limit,
            max_hold=max_hold,
            how=how,
            tolerance=tolerance,
            output=output,
            metadata=metadata,
            dedupe=dedupe,
            include_log=include_log,
            max_rows=max_rows,
            rollups=rollups,
            as_of=as_of,
        )

    def asof(
        self,
        variables: str | list[str],
        at: Any,
        *,
        tolerance: Any = None,
        direction: Literal["backward", "forward", "nearest"] = "backward",
        output: Literal["pandas", "polars", "arrow"] = "pandas",
        as_of: Any = None,
    ) -> Any:
        """The value of each variable in force at each of many times (an as-of join).

        For each time of `at`, each variable's point that `pandas.merge_asof` would
        match: `"backward"`, the last point at or before the time (of several points
        with that timestamp, the last in arrival order); `"forward"`, the first at or
        after it (the first of equal timestamps); `"nearest"`, the closer of the two (a
        tie goes backward). Only the time spans `at` needs are read, from one consistent
        snapshot of the Parquet files and the log tail; without a `tolerance`, the last
        point before (first after) them is found in earlier (later) partitions by their
        row-group statistics, decoding only the row groups that can hold it.

        Parameters
        ----------
        variables : str or list of str
            One variable, or several distinct ones.
        at : sequence of timestamps
            The times: a pandas DatetimeIndex or Series, a numpy datetime64 array, a
            polars Series, an Arrow array, or a list of anything `append` accepts (naive
            times in the store's `naive_timezone`). Any order; repeats allowed.
        tolerance : str or timedelta, optional
            Leave a value missing when the matched point is farther from the time than
            this (e.g. `"5s"`; exactly this far still matches). Default None: any
            distance.
        direction : {"backward", "forward", "nearest"}, default "backward"
            Which point matches, as in `pandas.merge_asof`.
        output : {"pandas", "polars", "arrow"}, default "pandas"
            The type of the result.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.

        Returns
        -------
        pandas.DataFrame, polars.DataFrame or pyarrow.Table
            One row per time of `at`, in its order, indexed (pandas) or led (polars,
            Arrow) by `timestamp` (UTC). One variable gives a `value` column; several,
            one column named after each variable. Values keep their kind (`json` as
            Python objects in pandas); a missing match is NaN / None (an `int` column
            with a missing match is float64 in pandas, as in `read`).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidTimestamp
            A time of `at` cannot be read as a timestamp.
        InvalidArgument
            `at` is empty or a single time, `direction` is unknown, `tolerance` is not a
            duration or is negative, `output` is unknown, names repeat.
        CorruptFile
            A Parquet file or a variable's `_schema.json` cannot be read.

        Examples
        --------
        >>> store.asof(["sensor_temp", "sensor_rh"], trades.index, tolerance="5s")
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _events.asof(
            self.root,
            self.parts,
            self.settings,
            variables,
            at,
            tolerance=tolerance,
            direction=direction,
            output=output,
            as_of=self._as_of(as_of),
        )

    def around(
        self,
        variables: str | list[str],
        events: Any,
        *,
        before: Any,
        after: Any,
        agg: Any = "mean",
        max_hold: Any = None,
        output: Literal["pandas", "polars", "arrow"] = "pandas",
        as_of: Any = None,
    ) -> Any:
        """Aggregates of each variable over a window around each of many event times.

        For each event time `t`, the points of `[t - before, t + after)` are
        aggregated as the pandas Series method of the aggregation's name would on
        their values (missing values skipped). Only the spans the events need are read
        (nearby events share one), from one consistent snapshot of the Parquet files
        and the log tail.

        Parameters
        ----------
        variables : str or list of str
            One variable, or several distinct ones.
        events : sequence of timestamps
            The event times, in any form `asof`'s `at` takes. Any order; repeats
            allowed.
        before, after : str or timedelta
            How far the window reaches before and after each event (non-negative;
            `"5s"`, `timedelta(minutes=1)`).
        agg : str, tuple, callable, list or dict, default "mean"
            "mean", "sum", "min", "max", "count", "first", "last", "median", "std",
            "var", "rms" (`sqrt(mean(x**2))`), "ptp" (max - min), "sem", "nunique", a
            quantile (`"q90"`, `"q99.9"`, `("quantile", 0.9)`), or a callable given each
            non-empty window's values as a numpy array (an empty window gives a missing
            value), or "twa", the time-weighted mean of the window (as `read` defines
            it: the value in force at the window's start is the last point before it,
            read from wherever it is); a list of those, or a dict naming each column.
            Numeric aggregations need `float` or `int` variables; count, first, last,
            nunique and callables work on every kind. An empty window gives count, sum
            and nunique 0, the others missing.
        max_hold : str or timedelta, optional
            With "twa": a value holds at most this long. Default None: until the next
            point.
        output : {"pandas", "polars", "arrow"}, default "pandas"
            The type of the result.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.

        Returns
        -------
        pandas.DataFrame, polars.DataFrame or pyarrow.Table
            One row per event, in the order given, indexed (pandas) or led (polars,
            Arrow) by `timestamp` (UTC). Columns are named as `read` names a resample:
            one variable gives `value` (one aggregation) or the aggregations' names;
            several give each variable's name, or `<variable>.<agg>` for several
            aggregations.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidTimestamp
            An event time cannot be read as a timestamp.
        InvalidArgument
            `events` is empty or a single time, `before` or `after` is not a duration or
            is negative, `agg` is unknown (or numeric on a variable of another kind) or
            a callable raised (the message names the variable and the event), `output`
            is unknown, names repeat.
        CorruptFile
            A Parquet file or a variable's `_schema.json` cannot be read.

        Examples
        --------
        >>> store.around("sensor_temp", alarms.index, before="5s", after="5s",
        ...              agg=["mean", "std", "q90"])
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _events.around(
            self.root,
            self.parts,
            self.settings,
            variables,
            events,
            before=before,
            after=after,
            agg=agg,
            max_hold=max_hold,
            output=output,
            as_of=self._as_of(as_of),
        )

    def features(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        window: Any,
        stride: Any = None,
        funcs: Any = ("mean", "std", "min", "max"),
        how: Literal["long", "wide"] = "long",
        output: Literal["pandas", "polars", "arrow"] = "pandas",
        workers: int | None = None,
        min_points: int = 1,
        to: str | PathLike[str] | None = None,
        closed: Literal["left", "right"] | None = None,
        label: Literal["left", "right"] | None = None,
        origin: Any = "start_day",
        offset: Any = None,
        max_hold: Any = None,
        progress: bool | None = None,
        as_of: Any = None,
    ) -> Any:
        """Features of each variable over many windows: batch feature extraction.

        Windows of length `window` start every `stride`, placed as `read`'s resample
        bins of rule `stride` (`closed`, `label`, `origin`, `offset`), so with the
        default stride (the window) they are exactly `read(resample=window)`'s bins;
        a shorter stride gives overlapping windows. They run from the window holding
        a variable's first point in `[start, end)` to the one holding its last; empty
        windows between are rows of NaN. The store is read one partition at a time
        (plus the `window` that windows near its end reach into the next), in
        `workers` processes, so memory is bounded by a partition, not the store;
        every built-in feature is computed for all of a partition's windows at once.

        Parameters
        ----------
        variables : str or list of str
            One variable, or several distinct ones, of numeric kinds (float, int,
            bool).
        start, end : timestamp, optional
            Only the points of `[start, end)`, in any form `append` accepts.
        window : str or timedelta
            The windows' length: a fixed duration ("10s", "500ms", "1min", "1h", "1D",
            a timedelta).
        stride : str or timedelta, optional
            The distance between window starts. Default: `window`. At most the
            store's partition period (an hour, a day, 28 days).
        funcs : str, tuple, callable, list or dict, default ("mean", "std", "min", "max")
            Each feature: a name of `read`'s aggregations ("mean", "sum", "min", "max",
            "count", "first", "last", "median", "std", "var", "sem", "nunique", "rms",
            "ptp", "twa"), a quantile ("q90", ("quantile", 0.9)), "skew" and "kurt"
            (pandas' `Series.skew`/`kurt`), "slope" (least-squares slope of value
            against time, per second), "abs_energy" (sum of squares),
            "zero_crossings" (sign changes of the values minus their mean, zeros
            skipped), "dominant_frequency" (Hz: the peak of the magnitude spectrum of
            the de-meaned values, DC excluded, at the window's median spacing), or a
            callable given the window's values (float64, NaN missing), or
            `(values, seconds since the window's start)` when it takes two
            arguments. A list of these, or a dict naming each column (a lambda needs
            a name: `{"p90": lambda v: np.quantile(v, 0.9)}`). Missing values are
            skipped by the built-ins.
        how : {"long", "wide"}, default "long"
            "long": a row per variable and window, columns `variable` and one per
            feature. "wide": a row per window (one grid over all the variables),
            columns `<variable>__<feature>`.
        output : {"pandas", "polars", "arrow"}, default "pandas"
            The type of the result (pandas: indexed by `window`; polars and Arrow
            lead with a `window` column).
        workers : int, optional
            Processes to compute in. Default None: one per core; 1: in this process.
            Every count gives the same result.
        min_points : int, default 1
            A window with fewer points than this gives NaN for every feature.
        to : str or path, optional
            Write the result as Parquet as it is computed, and return a
            `FeaturesWritten` summary instead of a frame: a directory gets hive
            Parquet (long: `variable=<name>/part-<period>.parquet`; wide:
            `part-<period>.parquet`), a path ending in ".parquet" one file. Nothing
            is overwritten. Without `to`, a result over 20,000,000 rows is refused.
        closed, label : {"left", "right"}, optional
            Which end of a window is closed, and which end labels it. Default: "left".
        origin : str or timestamp, default "start_day"
            Where the grid of window starts is anchored, as pandas' `origin`
            ("epoch", "start", "start_day", "end", "end_day" or a timestamp).
        offset : str or timedelta, optional
            Shifts the grid, as pandas' `offset`.
        max_hold : str or timedelta, optional
            With "twa": a value holds at most this long.
        progress : bool, optional
            Show a progress bar. Default None: when a terminal or a notebook watches.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.

        Returns
        -------
        pandas.DataFrame, polars.DataFrame, pyarrow.Table or FeaturesWritten
            Every feature is float64. With `to`, what was written: `path`, `files`,
            `rows`, `variables`, `features`.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidTimestamp
            `start`, `end` or `origin` cannot be read as a timestamp.
        InvalidArgument
            An argument is out of range; `.argument` names it: an unknown feature
            (`funcs`), a window of zero (`window`), a stride longer than a partition
            (`stride`), a variable that does not hold numbers, a `to` that holds
            files, ...
        AggregationFailed
            A callable raised; the message names it, the variable and the window.
        ResultTooLarge
            The in-memory result would exceed 20,000,000 rows (use `to`).

        Examples
        --------
        >>> store.features(["ax", "ay"], window="10s", funcs=["mean", "std", "rms",
        ...                "zero_crossings", "dominant_frequency"])
        >>> store.features("ppg", window="30s", stride="5s", to="features/")
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _features.features(
            self.root,
            self.parts,
            self.settings,
            variables,
            start,
            end,
            window=window,
            stride=stride,
            funcs=funcs,
            how=how,
            output=output,
            workers=workers,
            min_points=min_points,
            to=to,
            closed=closed,
            label=label,
            origin=origin,
            offset=offset,
            max_hold=max_hold,
            progress=progress,
            as_of=as_of,
        )

    def scan(
        self, variable: str, start: Any = None, end: Any = None, *, as_of: Any = None
    ) -> pl.LazyFrame:
        """A polars LazyFrame over one variable's points in `[start, end)`.

        The Parquet files are scanned lazily (pruned by partition now, by the time
        filter when collected); the log tail is read now, from the same consistent
        snapshot, and carried in the frame. Rows are sorted by timestamp, equal ones in
        arrival order. If `optimize` replaces the files before the frame is collected,
        collecting fails: call `scan` again.

        Parameters
        ----------
        variable : str
            The variable.
        start, end : timestamp, optional
            The half-open window `[start, end)`, in any form `append` accepts. Default
            None: unbounded.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.

        Returns
        -------
        polars.LazyFrame
            Columns `timestamp` (`Datetime("ns", "UTC")`), `value` (of the variable's
            kind; `json` as text) and `metadata` (JSON text or null).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        InvalidTimestamp
            `start` or `end` cannot be read as a timestamp.
        ValueError
            `start` is not before `end`.
        CorruptFile
            The variable's `_schema.json` cannot be read.
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _scan.scan(self.root, self.parts, self.settings, variable, start, end, as_of=as_of)

    def variables(self) -> list[str]:
        """The names of every variable in the store.

        A variable is in the store once a point has been appended to it, until it is
        dropped; with a `parquet_root` shared by several stores, the variables the
        others compacted there count too.

        Returns
        -------
        list of str
            The names, sorted.

        Raises
        ------
        StoreClosed
            The store is closed.
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _snapshot.variable_names(self.root, self.parts)

    def info(self, variable: str) -> VariableInfo:
        """What one variable holds: its kind, time range, rows, partitions and bytes.

        Counted from one consistent snapshot (Parquet footers or commit records, and
        the log tail parsed), so a compaction running meanwhile counts no point twice.

        Parameters
        ----------
        variable : str
            The variable.

        Returns
        -------
        VariableInfo
            `name`, `kind` (None before its first value), `first` and `last`
            timestamps (None without points), `parquet_rows`, `log_rows` and `rows`,
            `partitions`, `parquet_files`, `log_segments`, `compacted_segments`, and
            sizes: `parquet_bytes`, `log_bytes` (every segment, pending or compacted),
            `compacted_log_bytes` (the part already in Parquet, awaiting the log
            retention) and `bytes_on_disk` (Parquet plus log).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        CorruptFile
            A Parquet file or the variable's `_schema.json` cannot be read.
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _info.info(self.root, self.parts, self.settings, variable)

    def summary(
        self, variables: str | list[str] | None = None, *, as_of: Any = None
    ) -> pd.DataFrame:
        """One row per variable: counts, time range, extremes, duplicates, sampling, gaps.

        Merged from the statistics kept for each Parquet file (written at compaction
        and optimize) and the log tail parsed as `read` parses it, never from a scan of
        every point: a file without stats (written before they existed) is computed
        from its points, and files whose time spans overlap (late data not yet
        optimized) are read as points, those files only.

        Parameters
        ----------
        variables : str or list of str, optional
            One variable, or several in this order. Default None: every variable,
            sorted.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.
            A variable with deletions, or any variable under `as_of`, is summarised
            from its points file by file (the stored statistics describe every stored
            version).

        Returns
        -------
        pandas.DataFrame
            Indexed by `variable`, columns: `kind`; `rows`, `parquet_rows`,
            `log_rows`; `first`, `last` (UTC); `min`, `max` (numeric kinds, bools as
            0/1), `mean`, `last_value` (the last value that is not missing);
            `nan_count` (missing values); `duplicate_timestamps` (rows repeating an
            earlier timestamp); `conflicting_duplicates` (timestamps holding more than
            one distinct value); `median_interval` (between consecutive distinct
            timestamps; approximate, by a quantile sketch, for a file with more than
            4,096 distinct intervals); `gap_count` and `longest_gap` (intervals longer
            than 10x the median interval); `coverage` (the share of `[first, last]`
            not inside such a gap: `coverage()`'s covered time over the variable's
            span, so 0.0 for points all at one instant, which cover no time, and NaN
            without points); `parquet_bytes`, `log_bytes` (pending segments).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.

        Examples
        --------
        >>> store.summary()[["rows", "first", "last", "gap_count", "coverage"]]
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _summary.summary(
            self.root, self.parts, self.settings, variables, as_of=self._as_of(as_of)
        )

    def gaps(
        self, variable: str, start: Any = None, end: Any = None, *, min_gap: Any = None
    ) -> pd.DataFrame:
        """The stretches of time without points of one variable.

        A gap is an interval between consecutive distinct timestamps longer than
        `min_gap`. Found from the per-file statistics; a file whose statistics do not
        list every gap that long is read.

        Parameters
        ----------
        variable : str
            The variable.
        start, end : timestamp, optional
            Only the gaps reaching into `[start, end)` (listed whole).
        min_gap : str or timedelta, optional
            The shortest interval that is a gap ("5min", a timedelta). Default None:
            10x the variable's median interval (`summary`'s `median_interval`).

        Returns
        -------
        pandas.DataFrame
            A row per gap in time order: `start` (the last point before it), `end`
            (the first point after it), both UTC, and `duration` (Timedelta).

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            `variable` breaks the naming rules.
        VariableNotFound
            The store has no such variable.
        InvalidTimestamp
            `start` or `end` cannot be read as a timestamp.
        InvalidArgument
            `min_gap` is not a non-negative duration.

        Examples
        --------
        >>> store.gaps("sensor_temp", min_gap="5min")
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _gaps.gaps(
            self.root, self.parts, self.settings, variable, start, end, min_gap=min_gap
        )

    def coverage(
        self,
        variables: str | list[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        freq: Any = "1h",
        min_gap: Any = None,
    ) -> pd.DataFrame:
        """The share of each time bin that each variable covers (0 to 1).

        Covered time is inside the variable's `[first, last]` and not inside a gap
        (see `gaps`). Bins are `freq` long on a grid anchored at the epoch, from the
        bin holding `start` to the one holding the instant before `end`; a share is of
        the whole bin. A variable whose points all share one instant covers no time
        (0 in its bin, as `summary`'s `coverage` is 0.0).

        Parameters
        ----------
        variables : str or list of str, optional
            One variable or several. Default None: every variable.
        start, end : timestamp, optional
            The bins' range. Default: the variables' first point to their last.
        freq : str or timedelta, default "1h"
            The bins' length.
        min_gap : str or timedelta, optional
            As `gaps`' (default: 10x each variable's median interval).

        Returns
        -------
        pandas.DataFrame
            Wide: indexed by `bin` (each bin's start, UTC), a float64 column per
            variable.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidTimestamp
            `start` or `end` cannot be read as a timestamp.
        InvalidArgument
            `freq` is not a positive duration or `min_gap` not a duration.

        Examples
        --------
        >>> store.coverage(freq="1D").mean()
        """
        self._check_open()
        self._writer.flush_for_readers()
        return _coverage.coverage(
            self.root,
            self.parts,
            self.settings,
            variables,
            start,
            end,
            freq=freq,
            min_gap=min_gap,
        )

    def quality(
        self,
        variables: str | list[str] | None = None,
        *,
        stuck_for: Any = "1h",
        spike_z: float = 8.0,
        spike_window: int = 31,
        nan_run: Any = "10min",
        far_future: Any = "1D",
        max_span: Any = "50y",
        now: Any = None,
        checks: list[str] | None = None,
    ) -> pd.DataFrame:
        """Findings about data that is stored consistently but looks wrong.

        Runs, conflicts and times come from the per-file statistics; spikes read the
        points, a partition (or the log tail) at a time. `hfdata verify` warns of
        stuck values and NaN runs through this (its default thresholds; spikes too
        with `--quality full`, since they read every point) and checks times and
        conflicts itself.

        Parameters
        ----------
        variables : str or list of str, optional
            One variable or several. Default None: every variable.
        stuck_for : str or timedelta, default "1h"
            "stuck": one value (float and int kinds) repeated by consecutive rows for
            longer than this, from the first row to the last.
        spike_z : float, default 8.0
            "spike": a value whose distance to the centred rolling median of
            `spike_window` values is more than `spike_z` robust scales (1.4826 x the
            rolling median of those distances); missing values are skipped, and a
            window where most values equal their median has no scale (no spike).
        spike_window : int, default 31
            The rolling windows' length in values (at least 3).
        nan_run : str or timedelta, default "10min"
            "nan_run": consecutive missing values (null or NaN) for longer than this.
        far_future : str or timedelta, default "1D"
            "far_future": points dated more than this after `now`.
        max_span : str or timedelta, default "50y"
            "long_span": the first and last point further apart than this ("50y" is
            50 Julian years). Also "before_1970" (points dated before 1970) and
            "conflicting_duplicates" (timestamps holding different values; the count,
            `start`/`end` NaT) are checked.
        now : timestamp, optional
            The present, for "far_future". Default: the clock.
        checks : list of str, optional
            Only these checks ("stuck", "spike", "nan_run", "conflicting_duplicates",
            "before_1970", "far_future", "long_span"). Default: all.

        Returns
        -------
        pandas.DataFrame
            A row per finding: `variable`, `check`, `start`, `end` (UTC) and `detail`
            (text), by variable, then check, then time.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidArgument
            A threshold is out of range or a check unknown; `.argument` names it.

        Examples
        --------
        >>> store.quality(stuck_for="10min", checks=["stuck", "spike"])
        """
        self._check_open()
        options = _quality.QualityOptions(
            self.settings,
            stuck_for=stuck_for,
            spike_z=spike_z,
            spike_window=spike_window,
            nan_run=nan_run,
            far_future=far_future,
            max_span=max_span,
            now=now,
            checks=checks,
        )
        self._writer.flush_for_readers()
        return _quality.quality(self.root, self.parts, self.settings, variables, options)

    def report(
        self,
        path: str | PathLike[str],
        variables: str | list[str] | None = None,
        *,
        freq: Any = None,
        max_gaps: int = 20,
        max_findings: int = 50,
        plots: bool = True,
        title: str | None = None,
    ) -> Path:
        """Write a self-contained HTML report of the store to `path`.

        One file that needs no network to open (inline CSS, pictures as PNG `data:`
        URIs, no scripts) and reads on a phone: the `summary` table, a coverage heatmap
        (`coverage`, variables by bins), and per variable the mean line of each bin with
        its min-max band, its longest `gaps` and its `quality` findings. The plots read
        `read(v, resample=freq, agg=["mean", "min", "max"])`, answered from the
        rollups rather than the points, and the report is built variable by variable.

        Parameters
        ----------
        path : str or path-like
            The HTML file to write (replaced atomically if it exists); its directory
            must exist.
        variables : str or list of str, optional
            One variable, or several in this order. Default None: every variable.
        freq : str or timedelta, optional
            The bins of the heatmap and the plots ("1h", "1D"). Default None: 1h, or
            1D (then whole days) where that would make more than 2,000 bins; each plot
            picks by its own variable's span.
        max_gaps : int, default 20
            The longest gaps listed per variable (all are counted).
        max_findings : int, default 50
            The quality findings listed per variable (all are counted).
        plots : bool, default True
            Draw the heatmap and the plots (needs matplotlib: hfdata[plot]).
        title : str, optional
            The page's title. Default: "hfdata report: " and the store's path.

        Returns
        -------
        pathlib.Path
            `path`.

        Raises
        ------
        StoreClosed
            The store is closed.
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidArgument
            `freq` is not a positive duration or makes more than 2,000 bins over the
            variables' span, or `max_gaps`/`max_findings` is negative.
        MissingDependency
            `plots` without matplotlib installed.

        Examples
        --------
        >>> store.report("report.html")
        """
        self._check_open()
        options = _html.ReportOptions.make(
            freq=freq,
            max_gaps=max_gaps,
            max_findings=max_findings,
            plots=plots,
            title=title if title is not None else f"hfdata report: {self.root}",
        )
        return _html.write_report(self, path, variables, options)

    def to_dask(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        partition_rows: int = 4_000_000,
        as_of: Any = None,
    ) -> dd.DataFrame:
        """A Dask DataFrame over the points of one or several variables in `[start, end)`.

        The files are listed from one consistent snapshot, as `read` lists them; the
        log tail is read now, on this machine, and carried in the graph; the workers
        read the Parquet files themselves (local paths, or the object store). The
        frame is indexed by a sorted UTC `timestamp` with known divisions, so `.loc`
        time slices and `.resample` work; its rows are `read`'s, in the same order.
        Each Dask partition holds whole store partitions (hour, day or month).

        Parameters
        ----------
        variables : str or list of str
            One variable, or several distinct ones.
        start, end : timestamp, optional
            The half-open window `[start, end)`, in any form `append` accepts. Default
            None: unbounded.
        partition_rows : int, default 4_000_000
            The most rows a Dask partition should hold: consecutive store partitions
            are grouped into the fewest partitions of about this many rows, balanced.
            1 gives one Dask partition per store partition.

        as_of : timestamp, optional
            Read the store as it was known at this time, in any form `start` accepts:
            only points whose append had been made by then and only deletions recorded
            by then (a point whose append returned before `as_of` is always included,
            one whose append started after it never is). Default None: now.

        Returns
        -------
        dask.dataframe.DataFrame
            One variable: column `value`; several: the long form of `read`
            (`variable`, `value`).

        Raises
        ------
        TypeError
            `partition_rows` is not an int.
        ValueError
            `partition_rows` is below 1, no names or repeated ones are given, or
            `start` is not before `end`.
        StoreClosed
            The store is closed.
        MissingDependency
            Dask is not installed (`pip install hfdata[dask]`).
        InvalidVariableName
            A name breaks the naming rules.
        VariableNotFound
            A variable is not in the store.
        InvalidTimestamp
            `start` or `end` cannot be read as a timestamp.
        CorruptFile
            A Parquet file or a variable's `_schema.json` cannot be read.
        """
        if isinstance(partition_rows, bool) or not isinstance(partition_rows, int):
            raise TypeError(f"partition_rows must be an int, got {partition_rows!r}")
        if partition_rows < 1:
            raise ValueError(f"partition_rows must be at least 1, got {partition_rows}")
        self._check_open()
        self._writer.flush_for_readers()
        return _dask.to_dask(
            self.root,
            self.parts,
            self.settings,
            variables,
            start,
            end,
            partition_rows=partition_rows,
            as_of=as_of,
        )

    # -- internals -----------------------------------------------------------------------------
    def _as_of(self, as_of: Any) -> int | None:
        """`as_of` as UTC ns (None: now)."""
        return _query.as_of_ns(self.settings, as_of)

    def _check_open(self) -> None:
        if self.closed:
            raise StoreClosed(f"{self!r} is closed; open it again with hfdata.open_store")


def _collected(writer: LogWriter, name: str) -> None:
    """`Store`'s finaliser: close the writer of a store nobody closed (its segments, so a
    later compaction takes their points, and its flusher thread), then warn as Python
    does for an unclosed file."""
    if writer.closed:
        return
    try:
        writer.close_collected()
    finally:
        warnings.warn(f"unclosed {name}; use `with` or .close()", ResourceWarning, stacklevel=1)


def _seconds(value: timedelta | float | None, name: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds or a timedelta")
    return seconds


def open_store(
    root: str | PathLike[str],
    *,
    durability: Durability = "flush",
    flush_interval: timedelta | float = 1.0,
    fsync_interval: timedelta | float | None = None,
    max_segment_bytes: int = 64 << 20,
    max_segment_age: timedelta | float = timedelta(minutes=10),
    max_open_segments: int = 256,
    partition: Partition = _UNSET,
    naive_timezone: str = _UNSET,
    epoch_unit: EpochUnit | None = _UNSET,
    log_retention: timedelta | None = _UNSET,
    history_retention: timedelta | None = _UNSET,
    parquet_root: str | PathLike[str] | None = _UNSET,
    storage_options: dict[str, Any] | None = None,
    nonexistent: Nonexistent = _UNSET,
    ambiguous: Ambiguous = _UNSET,
    rollups: Sequence[str] = _UNSET,
    gap_threshold: timedelta | str | None = _UNSET,
    max_metadata_bytes: int | None = 65_536,
    upgrade: bool = False,
) -> Store:
    """Open the store at `root`, creating it if it does not exist.

    `partition`, `naive_timezone`, `epoch_unit`, `log_retention`, `history_retention`,
    `parquet_root`, `nonexistent`, `ambiguous`, `rollups` and `gap_threshold` change how
    stored data is read or summarised: they are recorded in `hfdata.json` when the
    store is created and hold for every later opening (omit them to use the recorded
    values). The other options apply to this handle only. Opening also finishes a
    compaction that a crash interrupted, unless another one is running (which will).

    Parameters
    ----------
    root : str or os.PathLike
        The store's directory, created (with its parents) if missing. The log always
        lives here.
    durability : {"flush", "fsync", "buffered"}, default "flush"
        When `append` returns. `"flush"`: its line is handed to the operating system,
        which survives the process being killed. `"fsync"`: the segment is fsynced
        too, which survives a power loss. `"buffered"`: its line is in this process's
        buffer, written by the flusher every `flush_interval` (and on `flush`,
        `close`, a read, 1 MiB per variable), so a crash loses at most that interval.
        docs/contracts.md, "Durability", gives the exact promises.
    flush_interval : timedelta or float, default 1.0
        Seconds between the flusher's rounds (buffered writes, group commits, rotation
        by age); positive.
    fsync_interval : timedelta or float, optional
        Group commit for `"flush"` and `"buffered"`: the flusher fsyncs the segments
        written since their last fsync once this much time has passed, so a power loss
        loses at most about that long. Segments are then also fsynced when they close.
        Default None: no fsync in those modes.
    max_segment_bytes : int, default 64 MiB
        A segment is closed (ready for compaction) once it holds this many bytes.
    max_segment_age : timedelta or float, default 10 minutes
        A segment is closed once it has been open this long (seconds if a float).
    max_open_segments : int, default 256
        The most segments this handle keeps open; beyond it the least recently used
        one is closed.
    partition : {"hour", "day", "month"}, optional
        Recorded. The span of one Parquet partition (`date=<key>` directory), in UTC.
        Default at creation: "day".
    naive_timezone : str, optional
        Recorded. The IANA time zone (e.g. "Europe/Berlin") naive timestamps are read
        in. Default at creation: "UTC".
    epoch_unit : {"s", "ms", "us", "ns"} or None, optional
        Recorded. Read numeric timestamps as time since 1970 in this unit. Default at
        creation: None (a bare number is an `InvalidTimestamp`).
    log_retention : timedelta or None, optional
        Recorded. How long compacted log segments are kept after their last write (a
        second copy of points already in Parquet); None keeps them forever. Default at
        creation: 7 days.
    history_retention : timedelta or None, optional
        Recorded. How long a point deleted by `delete` stays stored (seen by `history`
        and by `as_of` reads from before the deletion): `optimize` removes the points
        of tombstones recorded longer ago than this. None keeps them forever. Default
        at creation: None.
    parquet_root : str, os.PathLike or None, optional
        Recorded. Put the Parquet tree elsewhere: a local path or a URI such as
        `s3://bucket/prefix`. Several stores (machines) may share one; each reads all
        of it. Default at creation: None (`<root>/parquet`).
    storage_options : dict, optional
        Options for the `parquet_root`'s filesystem, as fsspec takes them
        (`endpoint_url`, `key`, `secret`, `client_kwargs`, ...); never written to
        disk. Only with a URI `parquet_root`.
    nonexistent : {"raise", "shift_forward", "shift_backward"} or timedelta, optional
        Recorded. What a naive time in a daylight-saving gap of `naive_timezone`
        becomes, as pandas' `tz_localize` (a timedelta, non-zero, shifts it). Default
        at creation: "raise" (an `InvalidTimestamp`).
    ambiguous : {"raise", "infer"} or bool, optional
        Recorded. What a naive time in a daylight-saving fold becomes: True daylight
        time, False standard time, "infer" from the order of a batch (a lone point
        cannot be inferred), as pandas' `tz_localize`. Default at creation: "raise".
    rollups : sequence of str, optional
        Recorded. The resolutions of the rollups compaction keeps beside each Parquet
        file (per bin: count, sum, mean, spread, extremes, first and last), from which
        `read(resample=...)` answers; fixed pandas rules such as "1min", "15s", "1h";
        () keeps none. Default at creation: ("1min", "1h").
    gap_threshold : timedelta, str or None, optional
        Recorded. The shortest interval between points the per-file statistics list as
        a gap (a timedelta or a pandas string such as "5min"); None: each file's is 10x
        its median interval. Default at creation: None.
    max_metadata_bytes : int or None, default 65_536
        The most bytes one point's metadata may encode to; None: no limit.
    upgrade : bool, default False
        Upgrade a store of an older format version before opening it, and build the
        stats and rollups its Parquet files lack (as `hfdata upgrade DIR` does;
        docs/contracts.md, "Format versions" and "Derived files"). Stop every other
        process using the store first. Without it an older format is refused.

    Returns
    -------
    Store
        An open handle on the store; close it with `close` or a `with` block.

    Raises
    ------
    ValueError
        An option is out of range or not one of its values (including "NaT" for
        `nonexistent`/`ambiguous`, an unknown time zone), or `storage_options` are
        given without a URI `parquet_root`.
    SettingsConflict
        A recorded option differs from the value the store was created with.
    CorruptFile
        `hfdata.json` cannot be read or used (not JSON, not an hfdata store, a newer
        format version, values this hfdata refuses).
    UpgradeRequired
        The store has an older format version and `upgrade` is False.
    MissingDependency
        The `parquet_root`'s protocol needs fsspec (`pip install hfdata[s3]`).

    Examples
    --------
    >>> store = hfdata.open_store("data/hf", durability="fsync")
    >>> store = hfdata.open_store("data/remote", parquet_root="s3://bucket/prefix",
    ...                           storage_options={"endpoint_url": "http://localhost:9000"})
    """
    if durability not in DURABILITIES:
        raise ValueError(f"durability must be one of {DURABILITIES}, got {durability!r}")
    if not isinstance(max_segment_bytes, int) or max_segment_bytes <= 0:
        raise ValueError("max_segment_bytes must be a positive int")
    if max_open_segments < 1:
        raise ValueError("max_open_segments must be at least 1")
    if max_metadata_bytes is not None and (
        isinstance(max_metadata_bytes, bool)
        or not isinstance(max_metadata_bytes, int)
        or max_metadata_bytes <= 0
    ):
        raise ValueError(
            f"max_metadata_bytes must be a positive int or None, got {max_metadata_bytes!r}"
        )
    check_dst_options(
        "raise" if nonexistent is _UNSET else nonexistent,
        "raise" if ambiguous is _UNSET else ambiguous,
    )
    requested: dict[str, Any] = {}
    if partition is not _UNSET:
        requested["partition"] = partition
    if naive_timezone is not _UNSET:
        requested["naive_timezone"] = naive_timezone
    if epoch_unit is not _UNSET:
        requested["epoch_unit"] = epoch_unit
    if nonexistent is not _UNSET:  # a timedelta is recorded as seconds
        requested["nonexistent"] = (
            nonexistent.total_seconds() if isinstance(nonexistent, timedelta) else nonexistent
        )
    if ambiguous is not _UNSET:
        requested["ambiguous"] = ambiguous
    if parquet_root is not _UNSET:
        requested["parquet_root"] = None if parquet_root is None else normalise_uri(parquet_root)
    if rollups is not _UNSET:
        requested["rollups"] = _rollups(rollups)
    if gap_threshold is not _UNSET:
        requested["gap_threshold"] = _gap_threshold(gap_threshold)
    if log_retention is not _UNSET:
        requested["log_retention_seconds"] = (
            None if log_retention is None else _retention(log_retention)
        )
    if history_retention is not _UNSET:
        requested["history_retention_seconds"] = (
            None
            if history_retention is None
            else _retention(history_retention, name="history_retention")
        )
    path = Path(root)
    settings = load_or_create(path, requested)
    log_root(path).mkdir(exist_ok=True)
    if settings.parquet_root is None and storage_options:
        raise ValueError("storage_options need a parquet_root (e.g. s3://bucket/prefix)")
    parts = open_root(path, settings.parquet_root, storage_options, owner=settings.store_id)
    version = recorded_format_version(path)
    if version < FORMAT_VERSION and not upgrade:
        raise UpgradeRequired(
            f"store {path} has format version {version}; this hfdata reads version "
            f"{FORMAT_VERSION} (Parquet files in kind=<kind>/ folders). Upgrade it once, "
            f"with every other process using it stopped: `hfdata upgrade {path}` or "
            f"hfdata.open_store({str(path)!r}, upgrade=True). An upgrade cut short is "
            "finished the same way"
        )
    if upgrade:
        _upgrade.upgrade(path, parts, progress=False, settings=settings)
    _recovery.recover(path, parts)  # protocol step 7: roll leftover journals forward or back
    age = _seconds(max_segment_age, "max_segment_age")
    assert age is not None
    policy = LogPolicy(
        durability=durability,
        max_segment_bytes=max_segment_bytes,
        max_segment_age=age,
        fsync_on_close=fsync_interval is not None,
    )
    flush = _seconds(flush_interval, "flush_interval")
    assert flush is not None
    return Store(
        path,
        settings,
        policy,
        flush_interval=flush,
        fsync_interval=_seconds(fsync_interval, "fsync_interval"),
        max_open_segments=max_open_segments,
        parts=parts,
        max_metadata_bytes=max_metadata_bytes,
    )


def upgrade_store(
    root: str | PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
    progress: bool | None = None,
) -> _upgrade.UpgradeReport:
    """Upgrade the store at `root` to this hfdata's format version, as `hfdata upgrade
    DIR` does (`open_store(..., upgrade=True)` runs the same steps), then build the
    stats and rollups its Parquet files lack; a store with both is left alone.
    docs/contracts.md, "Format versions" and "Derived files", say what changes."""
    path = Path(root)
    if not (path / SETTINGS_FILE).exists():
        raise FileNotFoundError(f"no hfdata store at {path} (no {SETTINGS_FILE})")
    settings = load_or_create(path, {})
    parts = open_root(path, settings.parquet_root, storage_options, owner=settings.store_id)
    return _upgrade.upgrade(path, parts, progress=progress, settings=settings)


def _rollups(value: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # "1min" alone, not its letters
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise InvalidArgument(
            f"rollups must be a sequence of rules such as ('1min', '1h'), got {value!r}",
            argument="rollups",
        ) from None


def _gap_threshold(value: timedelta | str | None) -> timedelta | None:
    """A timedelta (microseconds, as hfdata.json records it) from a timedelta or a pandas
    string; StoreSettings checks it is positive."""
    import pandas as pd

    if value is None:
        return None
    if not isinstance(value, timedelta | str):  # a bare number has no unit to go by
        raise InvalidArgument(
            f"gap_threshold must be a timedelta, a string such as '5min', or None; got {value!r}",
            argument="gap_threshold",
        )
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise InvalidArgument(
            f"gap_threshold must be a timedelta, a string such as '5min', or None; got {value!r}",
            argument="gap_threshold",
        ) from None
    if pd.isna(delta):
        raise InvalidArgument("gap_threshold must not be NaT", argument="gap_threshold")
    return timedelta(microseconds=round(delta.value / 1000))


def _retention(value: timedelta, *, name: str = "log_retention") -> float:
    if not isinstance(value, timedelta) or value.total_seconds() < 0:
        raise ValueError(f"{name} must be a non-negative timedelta or None")
    return value.total_seconds()
