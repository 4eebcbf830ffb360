"""hfdata: a store for high-frequency time series.

Points are appended to JSON Lines logs, compacted into hive-partitioned Parquet,
and read back as pandas, polars or Arrow frames that include the log tail.

The public API is the names in `__all__`: `open_store` and the `Store` it returns
(every method documented there), `HighFrequencyDataStore` (the first module's API),
the report and info types, and the errors. Everything else is internal.

Module map (append -> log -> compact -> Parquet -> read; docs/architecture.md):

    store.py     Store and open_store, the facade over the stages
    compat.py    HighFrequencyDataStore
    log/         the append API and the JSON Lines segments (writer, segment, parse)
    compact/     segments -> Parquet through a journaled protocol (compaction, journal)
    parquet/     where the Parquet tree lives (PartsRoot: local, object store), its files
    read/        a consistent snapshot of Parquet and log tail, as frames (query, dask)
    features/    Store.features: windows of many variables, a partition per worker
    tools/       the `hfdata` command and what only it needs (cli, ingest, verify)
    settings, kinds, timeparse, locks, durable, layout, errors: the shared vocabulary
"""

from hfdata.compact.batch import CompactionReport
from hfdata.compact.retention import PruneReport
from hfdata.compact.upgrade import UpgradeReport
from hfdata.compat import HighFrequencyDataStore
from hfdata.errors import (
    AggregationFailed,
    CompactionFailed,
    CompactionInProgress,
    CorruptFile,
    DurabilityError,
    HfdataError,
    InvalidArgument,
    InvalidInput,
    InvalidMetadata,
    InvalidTimestamp,
    InvalidValue,
    InvalidVariableName,
    MissingDependency,
    ResultTooLarge,
    SchemaMismatch,
    SettingsConflict,
    StoreClosed,
    UpgradeRequired,
    VariableNotFound,
)
from hfdata.features.sink import FeaturesWritten
from hfdata.read.info import VariableInfo
from hfdata.store import Store, open_store

__all__ = [
    "AggregationFailed",
    "CompactionFailed",
    "CompactionInProgress",
    "CompactionReport",
    "CorruptFile",
    "DurabilityError",
    "FeaturesWritten",
    "HfdataError",
    "HighFrequencyDataStore",
    "InvalidArgument",
    "InvalidInput",
    "InvalidMetadata",
    "InvalidTimestamp",
    "InvalidValue",
    "InvalidVariableName",
    "MissingDependency",
    "PruneReport",
    "ResultTooLarge",
    "SchemaMismatch",
    "SettingsConflict",
    "Store",
    "StoreClosed",
    "UpgradeReport",
    "UpgradeRequired",
    "VariableInfo",
    "VariableNotFound",
    "open_store",
]

__version__ = "0.1.0"
