"""`Store` and `open_store`: the public facade that wires the stages together.

The append side lives in `hfdata.log.writer`, compaction in `hfdata.compact.compaction`, reading
in `hfdata.read.query`; a `Store` holds the settings, one `LogWriter` and one `PartsRoot`
(where its Parquet tree lives, `hfdata.parquet.root`) and forwards to them, holding no
logic of its own.
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

from hfdata.compact import compaction as _compact
from hfdata.errors import StoreClosed
from hfdata.kinds import Kind
from hfdata.layout import Partition, validate_name
from hfdata.log.segment import DURABILITIES, Durability, LogPolicy
from hfdata.log.writer import LogWriter
from hfdata.parquet.objectstore import ParquetRoot, normalise_uri
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.roots import open_root
from hfdata.read.query import MAX_ROWS
from hfdata.settings import StoreSettings, load_or_create
from hfdata.timeparse import Ambiguous, EpochUnit, Nonexistent, check_dst_options

if TYPE_CHECKING:
    import dask.dataframe as dd
    import polars as pl

    from hfdata.compact.compaction import CompactionReport, PruneReport
    from hfdata.read.query import VariableInfo

__all__ = ["Store", "open_store"]

_UNSET: Final[Any] = object()


class Store:
    """An hfdata store rooted at a local directory. Create it with `open_store`."""

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
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.policy.durability
        return f"<hfdata.Store {str(self.root)!r} ({state})>"

    @property
    def closed(self) -> bool:
        return self._writer.closed

    @property
    def remote(self) -> ParquetRoot | None:
        """The object-store Parquet root, or None for `<root>/parquet` (the readers in
        `hfdata.read` take it this way until they take `parts`)."""
        return self.parts if isinstance(self.parts, ParquetRoot) else None

    @remote.setter
    def remote(self, root: ParquetRoot) -> None:
        self.parts = root

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
        """Append one point. Returns once it is as durable as the store's mode promises.

        `kind="int"` (or any kind) may be given to fix a new variable's kind; for an
        existing variable it must match. Bad input raises before anything is written.
        (Each instance binds this name straight to its `LogWriter.append`.)
        """
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
        """Append a batch (pandas DataFrame/Series, polars DataFrame, Arrow table).

        The whole batch is checked before anything is written; returns the row count.
        `epoch_unit` reads numeric timestamps as time since 1970 in that unit for this
        call (overriding the store's); `timestamp_format` (strftime, e.g.
        `"%d/%m/%Y %H:%M"`, `%z` honoured) parses string timestamps that are not ISO-8601.
        """
        return self._writer.append_many(
            variable, data, kind=kind, epoch_unit=epoch_unit, timestamp_format=timestamp_format
        )

    def flush(self) -> None:
        """Write out buffered points and fsync what the durability mode asks for."""
        self._writer.flush()

    def rotate(self, variables: list[str] | None = None) -> None:
        """Close this store's active segments now (they become ready for compaction)."""
        self._writer.rotate(variables)

    def close(self) -> None:
        """Flush and close every segment; the store refuses further appends. Idempotent."""
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
        """Turn closed log segments into Parquet (see `hfdata.compact.compaction`)."""
        self._check_open()
        self._check_known(variables)
        if include_active:
            self.rotate(variables)
        return _compact.compact(
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
        """Merge each partition's Parquet files into one sorted file."""
        self._check_open()
        self._check_known(variables)
        return _compact.optimize(
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
        """Remove compacted log segments (of `variables`, default all) now, rather than when
        the log retention runs out; returns the files and bytes removed.

        Compacted segments (`log/<variable>/compacted/`) hold points already in Parquet
        and are kept for the store's `log_retention` (default 7 days) after their last
        write, as a second copy; this removes those at least `older_than` old. Pending
        segments are never touched. Waits for a running compaction (same lock).
        """
        self._check_open()
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ValueError(
                f"older_than must be a non-negative timedelta, got {older_than!r}; "
                "e.g. timedelta(days=1), or timedelta(0) for every compacted segment"
            )
        self._check_known(variables)
        return _compact.prune_log(
            self.root, older_than.total_seconds(), variables=variables, parts=self.parts
        )

    def _check_known(self, variables: list[str] | None) -> None:
        """`VariableNotFound` for a name the store does not hold (a likely typo)."""
        from hfdata.read import query as _read

        if variables is None:
            return
        known = set(_read.variables(self.root, self.remote))
        for name in variables:
            validate_name(name)
            if name not in known:
                raise _read.not_found(self.root, name, self.remote)

    def drop(self, variable: str) -> None:
        """Remove a variable entirely: its log, its Parquet and its schema."""
        validate_name(variable)
        self._writer.forget(variable)
        _compact.drop(self.root, self.settings, variable, self.parts)

    def read(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        resample: Any = None,
        agg: str | list[str] = "mean",
        how: Literal["long", "wide", "asof"] = "long",
        tolerance: Any = None,
        output: Literal["pandas", "polars", "arrow"] = "pandas",
        metadata: bool | Literal["expand"] = False,
        dedupe: Literal["last", "first"] | None = None,
        include_log: bool = True,
        max_rows: int | None = MAX_ROWS,
    ) -> Any:
        """Read points in `[start, end)`, Parquet merged with the log tail.

        One variable gives a frame indexed by UTC `timestamp` with column `value`;
        several give `how="long"` (`variable`, `value`), `"wide"` (one column per
        variable on the `resample` grid) or `"asof"` (latest value at each timestamp
        of the union, no older than `tolerance`). `resample`/`agg` follow pandas
        `resample(rule, closed="left", label="left")`; given both `start` and `end`,
        the bins cover that window (empty ones included). A resample of more than
        `max_rows` rows (None: no limit) raises `ResultTooLarge` before it is built.
        See `hfdata.read.query.read`.
        """
        from hfdata.read import query as _read

        self._check_open()
        self._writer.flush_for_readers()
        return _read.read(
            self.root,
            self.settings,
            variables,
            start,
            end,
            resample=resample,
            agg=agg,
            how=how,
            tolerance=tolerance,
            output=output,
            metadata=metadata,
            dedupe=dedupe,
            include_log=include_log,
            remote=self.remote,
            max_rows=max_rows,
        )

    def scan(self, variable: str, start: Any = None, end: Any = None) -> pl.LazyFrame:
        """A polars LazyFrame over Parquet and the log tail."""
        from hfdata.read import query as _read

        self._check_open()
        self._writer.flush_for_readers()
        return _read.scan(self.root, self.settings, variable, start, end, self.remote)

    def variables(self) -> list[str]:
        """Every variable in the store, sorted."""
        from hfdata.read import query as _read

        self._check_open()
        self._writer.flush_for_readers()
        return _read.variables(self.root, self.remote)

    def info(self, variable: str) -> VariableInfo:
        """Kind, time range, row counts, partitions and size of one variable."""
        from hfdata.read import query as _read

        self._check_open()
        self._writer.flush_for_readers()
        return _read.info(self.root, self.settings, variable, self.remote)

    def to_dask(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        partition_rows: int = 4_000_000,
    ) -> dd.DataFrame:
        """A Dask DataFrame over `[start, end)`, indexed by a sorted UTC `timestamp` with
        known divisions (so `.loc` time slices and `.resample` work). Each Dask partition
        holds whole store partitions (their Parquet files and log tail rows): the fewest,
        balanced, of about `partition_rows` rows at most (`partition_rows=1`: one per
        store partition). One variable gives column `value`; several give the long form
        of `read` (`variable`, `value`). See `hfdata.read.dask`.
        """
        from hfdata.read import dask as _dask

        if isinstance(partition_rows, bool) or not isinstance(partition_rows, int):
            raise TypeError(f"partition_rows must be an int, got {partition_rows!r}")
        if partition_rows < 1:
            raise ValueError(f"partition_rows must be at least 1, got {partition_rows}")
        self._check_open()
        self._writer.flush_for_readers()
        return _dask.to_dask(
            self.root,
            self.settings,
            variables,
            start,
            end,
            self.remote,
            partition_rows=partition_rows,
        )

    # -- internals -----------------------------------------------------------------------------
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
    parquet_root: str | PathLike[str] | None = _UNSET,
    storage_options: dict[str, Any] | None = None,
    nonexistent: Nonexistent = _UNSET,
    ambiguous: Ambiguous = _UNSET,
    max_metadata_bytes: int | None = 65_536,
) -> Store:
    """Open (creating if missing) the store at `root`.

    `partition`, `naive_timezone`, `epoch_unit`, `nonexistent`, `ambiguous`,
    `log_retention` and `parquet_root` are recorded in `hfdata.json` when the store is
    created; reopening with a different value is a `SettingsConflict`. The other
    options apply to this handle only.

    `nonexistent` and `ambiguous` say what a naive time in `naive_timezone`'s
    daylight-saving gap or fold becomes, with pandas' `tz_localize` values
    (`nonexistent`: "raise", "shift_forward", "shift_backward" or a timedelta;
    `ambiguous`: "raise", "infer" (batches), True = daylight time, False = standard
    time); the default "raise" refuses such a time with `InvalidTimestamp`.
    `max_metadata_bytes` caps one point's encoded metadata (None: no cap).

    `parquet_root` puts the Parquet tree elsewhere: a local path or a URI such as
    `s3://bucket/prefix` (the log stays under `root`); `storage_options` are fsspec's
    (`endpoint_url`, `key`, `secret`, ...) and are never written to disk. Several
    stores (machines) may share one `parquet_root`; each reads all of it.
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
    if log_retention is not _UNSET:
        requested["log_retention_seconds"] = (
            None if log_retention is None else _retention(log_retention)
        )
    path = Path(root)
    settings = load_or_create(path, requested)
    (path / "log").mkdir(exist_ok=True)
    if settings.parquet_root is None and storage_options:
        raise ValueError("storage_options need a parquet_root (e.g. s3://bucket/prefix)")
    parts = open_root(path, settings.parquet_root, storage_options, owner=settings.store_id)
    _compact.recover(path, parts)  # protocol step 7: roll leftover journals forward or back
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


def _retention(value: timedelta) -> float:
    if not isinstance(value, timedelta) or value.total_seconds() < 0:
        raise ValueError("log_retention must be a non-negative timedelta or None")
    return value.total_seconds()
