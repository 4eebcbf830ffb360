"""Sidecars (issue 19): their names, and the derived files compaction, optimize, upgrade
and drop keep beside the Parquet tree."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hfdata.layout import part_rel
from hfdata.parquet.sidecars import (
    data_rel,
    rollup_rel,
    rollups_prefix,
    stats_prefix,
    stats_rel,
)

REL = "kind=float/variable=a%2Fb/date=2026-11-26/part-20261126T100000123456-ab12.parquet"


def test_sidecar_names_swap_the_prefix_and_suffix() -> None:
    assert stats_rel(REL) == (
        "_stats/kind=float/variable=a%2Fb/date=2026-11-26/part-20261126T100000123456-ab12.json"
    )
    assert rollup_rel(REL, "1h") == f"_rollups/res=1h/{REL}"
    assert stats_rel(REL).startswith(stats_prefix("float", "a%2Fb") + "/")
    assert rollup_rel(REL, "1min").startswith(rollups_prefix("1min", "float", "a%2Fb") + "/")


names = st.text("abc%2F._-", min_size=1, max_size=12)


@given(
    kind=st.sampled_from(["float", "int", "bool", "string", "json"]),
    encoded=names,
    key=st.sampled_from(["2026-11-26", "2026-11-26T10", "2026-11"]),
    batch=names,
    rule=st.sampled_from(["1min", "1h", "15s"]),
)
def test_a_sidecar_names_its_data_file(
    kind: str, encoded: str, key: str, batch: str, rule: str
) -> None:
    rel = part_rel(kind, encoded, key, f"part-{batch}.parquet")
    assert data_rel(stats_rel(rel)) == rel
    assert data_rel(rollup_rel(rel, rule)) == rel


def test_other_names_are_no_sidecars() -> None:
    assert data_rel(REL) is None
    assert data_rel("_stats/kind=float/variable=x/date=2026-11-26/part-b.parquet") is None
    assert data_rel("_rollups/kind=float/variable=x/date=2026-11-26/part-b.parquet") is None
    assert data_rel("_hfdata/commits/x/b.json") is None
