"""The lake contract: every table's required columns and their Arrow types.

Analysts and later issues rely on these names; more columns are welcome, these stay.
Every table carries ``event_ts`` (when it happened) and ``available_ts`` (when Tracer could know it).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

_PIT = [("event_ts", TS), ("available_ts", TS)]

CONTRACT: dict[str, list[tuple[str, pa.DataType]]] = {
    "bars": [
        ("symbol", pa.string()),
        ("asset_class", pa.string()),
        ("ts", TS),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        *_PIT,
        ("source", pa.string()),
    ],
    "narratives": [
        ("narrative_id", pa.string()),
        ("symbol", pa.string()),
        ("headline", pa.string()),
        ("summary", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        *_PIT,
    ],
    "narrative_scores": [
        ("narrative_id", pa.string()),
        ("symbol", pa.string()),
        ("model", pa.string()),
        ("polarity", pa.float64()),
        ("confidence", pa.float64()),
        ("label", pa.string()),
        *_PIT,
    ],
    "price_features": [
        ("symbol", pa.string()),
        ("asset_class", pa.string()),
        ("ts", TS),
        ("close", pa.float64()),
        ("ret_1h", pa.float64()),
        ("realized_vol", pa.float64()),
        ("volume_z", pa.float64()),
        *_PIT,
    ],
    "signals": [
        ("signal_id", pa.string()),
        ("symbol", pa.string()),
        ("asset_class", pa.string()),
        ("decision_ts", TS),
        ("direction", pa.string()),
        ("strength", pa.float64()),
        ("internal_prob", pa.float64()),
        ("horizon_hours", pa.int64()),
        ("rationale", pa.string()),
        *_PIT,
    ],
    "digest": [
        ("digest_id", pa.string()),
        ("rank", pa.int64()),
        ("signal_id", pa.string()),
        ("symbol", pa.string()),
        ("direction", pa.string()),
        ("strength", pa.float64()),
        ("internal_prob", pa.float64()),
        ("text", pa.string()),
        *_PIT,
    ],
    "polymarket_markets": [
        ("market_id", pa.string()),
        ("question", pa.string()),
        ("symbol", pa.string()),
        ("yes_price", pa.float64()),
        ("end_ts", TS),
        ("closed", pa.bool_()),
        ("resolved_outcome", pa.float64()),
        *_PIT,
    ],
    "eval_observations": [
        ("kind", pa.string()),
        ("observation_id", pa.string()),
        ("cohort", pa.string()),
        ("decision_ts", TS),
        ("resolved_ts", TS),
        ("predicted_prob", pa.float64()),
        ("outcome", pa.int64()),
        *_PIT,
    ],
    "eval_metrics": [
        ("week", pa.string()),
        ("kind", pa.string()),
        ("cohort", pa.string()),
        ("n", pa.int64()),
        ("brier", pa.float64()),
        ("log_loss", pa.float64()),
        ("hit_rate", pa.float64()),
        *_PIT,
    ],
    # Issue 3: rows that failed validation (written by the fetching assets, one part file each).
    "quarantine": [
        ("quarantine_id", pa.string()),
        ("table", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("provider", pa.string()),
        ("raw_ref", pa.string()),
        *_PIT,
    ],
    # Issue 3: one row per fetching asset, partition and provider: was the input whole, and if not why.
    "run_health": [
        ("health_id", pa.string()),
        ("run_id", pa.string()),
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("provider", pa.string()),
        ("degraded", pa.bool_()),
        ("reason", pa.string()),
        *_PIT,
    ],
    # --- evaluation (issue 6) ----------------------------------------------------------------
    "calibration_bins": [
        ("week", pa.string()),
        ("kind", pa.string()),
        ("predictor", pa.string()),
        ("strategy", pa.string()),
        ("bin", pa.int64()),
        ("bin_lo", pa.float64()),
        ("bin_hi", pa.float64()),
        ("count", pa.int64()),
        ("mean_predicted", pa.float64()),
        ("observed_freq", pa.float64()),
        *_PIT,
    ],
    "eval_metrics_all_time": [
        ("week", pa.string()),
        ("through_week", pa.string()),
        ("kind", pa.string()),
        ("predictor", pa.string()),
        ("cohort_dim", pa.string()),
        ("cohort", pa.string()),
        ("n", pa.int64()),
        ("brier", pa.float64()),
        ("log_loss", pa.float64()),
        ("hit_rate", pa.float64()),
        ("bss_vs_market", pa.float64()),
        *_PIT,
    ],
    "eval_win_rates": [
        ("week", pa.string()),
        ("kind", pa.string()),
        ("predictor", pa.string()),
        ("cohort_dim", pa.string()),
        ("cohort", pa.string()),
        ("n", pa.int64()),
        ("wins", pa.int64()),
        ("win_rate", pa.float64()),
        ("win_rate_lo", pa.float64()),
        ("win_rate_hi", pa.float64()),
        *_PIT,
    ],
    "hit_rate_trend": [
        ("as_of", TS),
        ("kind", pa.string()),
        ("predictor", pa.string()),
        ("window_n", pa.int64()),
        ("window_hit_rate", pa.float64()),
        ("baseline_n", pa.int64()),
        ("baseline_hit_rate", pa.float64()),
        ("drop", pa.float64()),
        *_PIT,
    ],
    # Issue 13: the nightly self-check's verdict per audited day and table.
    "lake_audit": [
        ("audit_id", pa.string()),
        ("audit_day", pa.string()),
        ("table_name", pa.string()),
        ("rows", pa.int64()),
        ("passed", pa.bool_()),
        ("problems", pa.string()),
        *_PIT,
    ],
}


def contract_columns(table: str) -> list[str]:
    return [name for name, _ in CONTRACT.get(table, [])]
