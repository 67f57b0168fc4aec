"""Rank the universe's live signals for the digest: strength times probability edge.

    edge  = internal_prob - 0.5          (how much better than a coin flip the call is)
    score = strength * edge

Only signals known at ``as_of`` and decided within ``digest_window_hours`` count, the latest per
symbol (a newer call supersedes an older one). Signals with ``edge <= digest_min_edge`` are not
ranked. The first ``digest_top_n`` are the top section, the next ``digest_alternates`` the alternates.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.settings import DigestSettings

COIN_FLIP = 0.5
RANK_REQUIRED = [
    "signal_id",
    "symbol",
    "direction",
    "strength",
    "internal_prob",
    "decision_ts",
    "available_ts",
]
# a ranked signal's call, its ranking (edge, score) and its size, as every view of the digest shows them
RANKED_FIELDS = ("direction", "strength", "internal_prob", "edge", "score", "size", "size_bucket")


def live_signals(signals: pd.DataFrame, settings: DigestSettings, as_of: pd.Timestamp) -> pd.DataFrame:
    """Signals known at ``as_of``, decided within the digest window, the latest per symbol."""
    missing = [c for c in RANK_REQUIRED if c not in signals.columns]
    if missing:
        raise ValueError(f"signals frame is missing columns {missing}")
    as_of = pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be tz-aware UTC")
    s = signals.copy()
    for col in ("decision_ts", "available_ts"):
        s[col] = pd.to_datetime(s[col], utc=True)
    window = pd.Timedelta(hours=settings.digest_window_hours)
    s = s[(s["available_ts"] <= as_of) & (s["decision_ts"] > as_of - window)]
    return s.sort_values(["decision_ts", "signal_id"]).drop_duplicates("symbol", keep="last")


def rank_signals(signals: pd.DataFrame, settings: DigestSettings, as_of: pd.Timestamp) -> pd.DataFrame:
    """Ranked rows with ``edge``, ``score``, ``rank`` (1-based) and ``section`` ('top' / 'alternate')."""
    return rank_live(live_signals(signals, settings, as_of), settings)


def rank_live(live: pd.DataFrame, settings: DigestSettings) -> pd.DataFrame:
    """``rank_signals`` of signals already through ``live_signals``."""
    s = live.copy()
    s["edge"] = s["internal_prob"].astype(float) - COIN_FLIP
    s["score"] = s["strength"].astype(float) * s["edge"]
    s = s[s["edge"] > settings.digest_min_edge]
    s = s.sort_values(["score", "strength", "symbol"], ascending=[False, False, True])
    n_top, n_alt = settings.digest_top_n, settings.digest_alternates
    s = s.head(n_top + n_alt).reset_index(drop=True)
    s["rank"] = range(1, len(s) + 1)
    s["section"] = ["top" if r <= n_top else "alternate" for r in s["rank"]]
    return s


def matching_markets(
    markets: pd.DataFrame | None, ranked: pd.DataFrame, settings: DigestSettings, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Open Polymarket questions on the ranked symbols, known at ``as_of``, biggest disagreement first."""
    if markets is None or markets.empty or ranked.empty or settings.digest_max_markets == 0:
        return pd.DataFrame(columns=["symbol", "question", "yes_price", "internal_prob"])
    missing = [c for c in ("symbol", "question", "yes_price") if c not in markets.columns]
    if missing:
        raise ValueError(f"polymarket markets frame is missing columns {missing}")
    m = markets.copy()
    if "internal_prob" not in m.columns:
        m["internal_prob"] = float("nan")
    keep = m["symbol"].isin(set(ranked["symbol"])) & m["yes_price"].notna()
    if "closed" in m.columns:
        keep &= ~m["closed"].fillna(False).astype(bool)
    if "available_ts" in m.columns:
        keep &= pd.to_datetime(m["available_ts"], utc=True) <= as_of
    if "end_ts" in m.columns:
        end = pd.to_datetime(m["end_ts"], utc=True)
        keep &= end.isna() | (end > as_of)
    m = m[keep].copy()
    if "market_id" in m.columns:
        m = m.sort_values("available_ts" if "available_ts" in m.columns else "market_id")
        m = m.drop_duplicates("market_id", keep="last")
    symbol_rank = dict(zip(ranked["symbol"], ranked["rank"], strict=True))
    m["symbol_rank"] = m["symbol"].map(symbol_rank)
    m["disagreement"] = (m["internal_prob"].astype(float) - m["yes_price"].astype(float)).abs()
    m = m.sort_values(
        ["disagreement", "symbol_rank", "question"], ascending=[False, True, True], na_position="last"
    )
    # two markets can ask the same question (listed on different days): show it once, the widest gap
    m = m.drop_duplicates("question", keep="first")
    return m.head(settings.digest_max_markets).reset_index(drop=True)
