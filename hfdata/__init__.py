"""hfdata: a store for high-frequency time series.

Points are appended to JSON Lines logs, compacted into hive-partitioned Parquet,
and read back as pandas, polars or Arrow frames that include the log tail.
"""

from hfdata.compact.compaction import CompactionReport, PruneReport
from hfdata.compat import HighFrequencyDataStore
from hfdata.errors import (
    CompactionFailed,
    CompactionInProgress,
    CorruptFile,
    DurabilityError,
    HfdataError,
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
    VariableNotFound,
)
from hfdata.read.info import VariableInfo
from hfdata.store import Store, open_store

__all__ = [
    "CompactionFailed",
    "CompactionInProgress",
    "CompactionReport",
    "CorruptFile",
    "DurabilityError",
    "HfdataError",
    "HighFrequencyDataStore",
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
    "VariableInfo",
    "VariableNotFound",
    "open_store",
]

__version__ = "0.1.0"
