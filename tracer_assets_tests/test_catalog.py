"""The UI's catalog: every asset is described, grouped, kinded, owned and has a fully described schema."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import sqlglot
from sqlglot import exp

from tracer_assets.analytics.sql_models import MODELS_DIR, load_models
from tracer_assets.definitions import defs
from tracer_assets.defs.common import preview
from tracer_assets.lake.schemas import (
    COLUMN_DOCS,
    CONTRACT,
    DOCUMENTED_COLUMNS,
    table_columns,
    undocumented_columns,
)


def test_every_contract_column_has_a_description():
    missing = undocumented_columns()
    assert missing == {}, (
        f"columns without a description: {missing}; add them to TABLE_COLUMN_DOCS (or SHARED_COLUMN_DOCS) "
        "in tracer_assets/lake/schemas.py"
    )
    for table, columns in CONTRACT.items():
        for name, _ in columns:
            assert COLUMN_DOCS[table][name].strip(), f"{table}.{name} has no description"


def test_a_column_spec_keeps_its_order_and_refuses_what_it_cannot_read():
    import pyarrow as pa
    import pytest

    from tracer_assets.lake.schemas import TS, _columns

    assert _columns("b: string, a: int64") == [
        ("b", pa.string()),
        ("a", pa.int64()),
        ("event_ts", TS),
        ("available_ts", TS),
    ]
    placed = _columns("a: bool, event_ts: timestamp, available_ts: timestamp, z: float64")
    assert [name for name, _ in placed] == ["a", "event_ts", "available_ts", "z"]
    for bad in ("a: float", "a string", "a: string, a: int64", "a: string,"):
        with pytest.raises(ValueError):
            _columns(bad)


def test_every_asset_tells_its_story():
    specs = list(defs.resolve_all_asset_specs())
    assert len(specs) >= 17
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.description and spec.description.strip(), f"{name}: no description"
        assert spec.group_name and spec.group_name != "default", f"{name}: no group"
        assert spec.kinds, f"{name}: no kinds"
        assert spec.owners and all(o.startswith("team:") for o in spec.owners), f"{name}: no owners"
        schema = spec.metadata.get("dagster/column_schema")
        assert isinstance(schema, dg.TableSchema) and schema.columns, (
            f"{name}: no column schema; give its table a CONTRACT (or DOCUMENTED_COLUMNS) entry with "
            "descriptions in tracer_assets/lake/schemas.py"
        )
        assert [c.name for c in schema.columns] == [n for n, _ in table_columns(spec.key.path[-1])]
        blank = [c.name for c in schema.columns if not (c.description or "").strip()]
        assert not blank, f"{name}: columns without a description: {blank}"
        assert {"event_ts", "available_ts"} <= {c.name for c in schema.columns}


def test_owners_follow_the_group():
    owners = {s.key.path[-1]: s.owners for s in defs.resolve_all_asset_specs()}
    assert owners["bars"] == ["team:data"]
    assert owners["signals"] == ["team:research"]
    assert owners["cohort_win_rates"] == ["team:analytics"]


def _output_columns(sql: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    select = tree if isinstance(tree, exp.Select) and tree.named_selects != ["*"] else None
    if select is None:  # SELECT * FROM <cte> UNION ...: the first CTE's projection names the columns
        select = next(tree.find_all(exp.CTE)).this
    return select.named_selects


def test_sql_models_are_documented_with_their_real_output_columns():
    models = load_models(MODELS_DIR)
    assert models
    for model in models:
        assert [n for n, _ in DOCUMENTED_COLUMNS[model.name]] == _output_columns(model.sql), model.name


def test_every_schema_check_is_attached_to_a_contract_asset():
    graph = defs.resolve_asset_graph()
    checked = {k.asset_key.path[-1] for k in graph.asset_check_keys}
    assert set(CONTRACT) & {s.key.path[-1] for s in defs.resolve_all_asset_specs()} <= checked


def test_preview_is_short_and_truncates_pandas_string_columns():
    df = pd.DataFrame(
        {
            "text": pd.array(["x" * 500, "short", "y" * 80, "z", "w"], dtype="string"),
            "obj": pd.Series(["a" * 300, "b", "c", "d", "e"], dtype=object),
            "n": range(5),
        }
    )
    md = preview(df).value
    lines = md.splitlines()
    assert len(lines) == 2 + 3  # header, rule, three rows
    assert "x" * 41 not in md and "a" * 41 not in md
    assert "…" in md and "short" in md
    assert preview(df.iloc[:0]).value == "_no rows_"
