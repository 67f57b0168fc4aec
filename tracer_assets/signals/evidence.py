"""A signal's structured rationale (every number) and its evidence lines (words only, no digit).

Both are built from the same row of facts, so the words never say something the numbers do not.
Word choices follow the facts in units the settings already define: pressure against the minimum
pressure, price moves and trends in volatility units, volume as a z-score.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from tracer_assets.settings import SignalSettings
from tracer_assets.signals.words import has_digit, hours_words

RULE_NAME = "divergence"
RULE_VERSION = 1


def clean(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf -> None, timestamps -> ISO strings, numpy scalars -> Python."""
    if isinstance(value, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [clean(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def to_json(value: Any, cleaned: bool = False) -> str:
    return json.dumps(value if cleaned else clean(value), sort_keys=True, allow_nan=False)


def narrative_id_list(value: Any) -> list[str]:
    """Narrative ids from a list/array or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [str(v) for v in value if v is not None and str(v) != ""]
    if pd.isna(value):
        return []
    return [str(value)]


# Word scales for the evidence lines: (upper bound, words); the first bound a value is below wins.
# Presentation only: the rules' thresholds are settings, these pick words for facts already decided.
PRESSURE_WORDS = ((0.5, "mildly"), (2.0, "clearly"), (math.inf, "sharply"))  # excess, in pressure_scale units
PRICE_WORDS = (  # window move, in vol units
    (-2.0, "fell hard"),
    (-0.5, "drifted lower"),
    (0.5, "barely moved"),
    (2.0, "edged higher"),
    (math.inf, "rallied"),
)
VOLUME_WORDS = (  # volume z-score
    (-0.5, "Trading volume is running below its usual level, though above the floor"),
    (0.5, "Trading volume is near its usual level"),
    (1.5, "Trading volume is running above its usual level"),
    (math.inf, "Trading volume is running well above its usual level"),
)
STORY_WORDS = (  # narratives behind the pressure
    (1.5, "A single fresh story drives the reading"),
    (4.5, "A handful of stories drive the reading"),
    (math.inf, "Many stories drive the reading"),
)


def scale_word(value: float, scale: tuple[tuple[float, str], ...]) -> str:
    for bound, word in scale:
        if value < bound:
            return word
    return scale[-1][1]


def _pressure_phrase(pressure: float, settings: SignalSettings) -> str:
    tone = "positive" if pressure > 0 else "negative"
    excess = (abs(pressure) - settings.signal_min_pressure) / settings.signal_pressure_scale
    return f"{scale_word(excess, PRESSURE_WORDS)} {tone}"


def _trend_phrase(row: dict[str, Any]) -> str:
    sign = 1.0 if row["direction"] == "long" else -1.0
    trends = (row.get("trend_1h"), row.get("trend_1d"))
    if row.get("reversal"):
        way = "falling" if sign > 0 else "rising"
        return f"This is a reversal call against a {way} hourly and daily trend"
    if any(t == -sign for t in trends):
        return "One of the hourly and daily trends leans against the call, the other does not"
    agreeing = sum(t == sign for t in trends)
    if agreeing == 2:
        return "The hourly and daily trends both already lean the same way as the call"
    if agreeing == 1:
        return "One of the hourly and daily trends already leans the same way as the call, the other is flat"
    return "The hourly and daily trends are flat and do not contradict the call"


def evidence_lines(row: dict[str, Any], settings: SignalSettings) -> list[str]:
    """Two to four sentences in words about one signal; guaranteed digit-free."""
    window = hours_words(settings.signal_window_hours)
    lines = [
        f"Coverage turned {_pressure_phrase(row['pressure'], settings)} "
        f"while price {scale_word(row['price_move_z'], PRICE_WORDS)} over the last {window}",
        scale_word(row["volume_z"], VOLUME_WORDS),
        _trend_phrase(row),
    ]
    n_stories = row.get("n_narratives")
    if row.get("flip"):
        lines.append("It reverses the previous call on this name")
    elif n_stories is not None and not pd.isna(n_stories) and n_stories > 0:
        lines.append(scale_word(n_stories, STORY_WORDS))
    lines = [line + "." for line in lines[:4]]
    if any(has_digit(line) for line in lines):  # only a bad phrase table could do this
        raise AssertionError(f"evidence line with a digit: {lines}")
    return lines


def rationale(row: dict[str, Any], settings: SignalSettings) -> dict[str, Any]:
    """Every number behind a signal, as a JSON-ready dict."""
    s = settings
    cal = row.get("calibration")
    return clean(
        {
            "rule": RULE_NAME,
            "version": RULE_VERSION,
            "direction": row["direction"],
            "pressure": row["pressure"],
            "pressure_ts": row.get("pressure_ts"),
            "n_narratives": row.get("n_narratives"),
            "narrative_ids": narrative_id_list(row.get("narrative_ids")),
            "last_narrative_available_ts": row.get("last_narrative_available_ts"),
            "window_bars": s.signal_window_hours,
            "price_move_log": row["price_move_log"],
            "price_move_z": row["price_move_z"],
            "lag_z": row["lag_z"],
            "realized_vol": row["realized_vol"],
            "ret_1h": row["ret_1h"],
            "ret_1d": row["ret_1d"],
            "volume_z": row["volume_z"],
            "trend_1h": row["trend_1h"],
            "trend_1d": row["trend_1d"],
            "strength": row["strength"],
            "strength_terms": {"pressure": row["pressure_term"], "lag": row["lag_term"]},
            "reversal": bool(row.get("reversal")),
            "reversal_reason": (
                "price trend contradicts the call on both the hourly and the daily timeframe; "
                "pressure is strong enough to call a turn"
                if row.get("reversal")
                else None
            ),
            "size": {
                "raw": row["size_raw"],
                "class_scale": row["size_class_scale"],
                "final": row["size"],
                "bucket": row["size_bucket"],
                "target_risk": s.sizing_target_risk,
                "floor": s.sizing_floor,
                "cap": s.sizing_cap,
                "class_cap": s.sizing_class_cap,
            },
            "internal_prob": row["internal_prob"],
            "calibration": (
                {
                    "method": cal.method,
                    "n_outcomes": cal.n_outcomes,
                    "cutoff_ts": cal.cutoff_ts,
                    "held_out_brier_map": cal.held_out_brier_map,
                    "held_out_brier_prior": cal.held_out_brier_prior,
                }
                if cal
                else None
            ),
            "horizon_hours": s.signal_horizon_hours,
            "thresholds": {
                "min_pressure": s.signal_min_pressure,
                "max_aligned_move_z": s.signal_max_aligned_move_z,
                "pressure_scale": s.signal_pressure_scale,
                "lag_weight": s.signal_lag_weight,
                "max_lag_z": s.signal_max_lag_z,
                "min_volume_z": s.signal_min_volume_z,
                "trend_flat_z": s.signal_trend_flat_z,
                "cooldown_hours": s.cooldown_hours,
            },
        }
    ) | {"checks": row["checks"]}  # already clean


def checks(row: dict[str, Any], settings: SignalSettings) -> dict[str, Any]:
    """The confirmation checks a signal passed, with the facts each one read."""
    s = settings
    return clean(
        {
            "market_open": bool(row["market_open"]),
            "degraded": row.get("degraded_flags") or None,
            "fresh": {
                "bar_gap_hours": row["bar_gap_hours"],
                "pressure_age_hours": row["pressure_age_hours"],
                "narrative_age_hours": row["narrative_age_hours"],
                "max_bar_gap_hours": s.signal_max_bar_gap_hours,
                "max_pressure_age_hours": s.signal_max_pressure_age_hours,
                "max_narrative_age_hours": s.signal_max_narrative_age_hours,
            },
            "participation": {"volume_z": row["volume_z"], "floor": s.signal_min_volume_z},
            "alignment": {
                "trend_1h": row["trend_1h"],
                "trend_1d": row["trend_1d"],
                "contradicted": bool(row["contradicted"]),
                "reversal": bool(row["reversal"]),
            },
            "cooldown": {
                "hours": s.cooldown_hours,
                "last_same_direction_ts": row.get("cooldown_last_same_ts"),
                "last_opposite_direction_ts": row.get("cooldown_last_opposite_ts"),
                "flip": bool(row.get("flip")),
            },
        }
    )
