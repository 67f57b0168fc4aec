"""Digest text for chat (Telegram HTML, escaped, no digit at all) and the artifact (every number).

Chat text speaks in words: symbol, direction, a size bucket, the odds in words, and the signal's
evidence lines. Numbers inside names and market questions are spelled out. The artifact and the
lake rows keep the numbers.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from tracer_assets.digest.ranking import RANKED_FIELDS
from tracer_assets.settings import DigestSettings
from tracer_assets.signals.evidence import clean
from tracer_assets.signals.words import date_words, has_digit, hours_words, probability_words, spell_numbers

SIZE_WORDS = {
    "none": "watch only, no position",
    "small": "small position",
    "medium": "medium position",
    "large": "large position",
}


# the fields each entry reads: a frame's records are made of these only (boxing every column of a
# wide frame into dicts was most of a digest's rendering)
SIGNAL_ENTRY_FIELDS = ("symbol", "direction", "reversal", "size_bucket", "internal_prob", "evidence")
MARKET_ENTRY_FIELDS = ("question", "yes_price", "internal_prob")


def records(frame: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """``frame.to_dict("records")`` restricted to ``fields`` (those it has)."""
    return frame[[c for c in fields if c in frame.columns]].to_dict("records")


def words(text: object) -> str:
    """Text safe for Telegram HTML and free of digits: numbers spelled, then escaped."""
    return html.escape(spell_numbers(str(text)), quote=False)


def parse_list(value: object) -> list[str]:
    """Evidence lines from a JSON string or a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _headline(row: dict[str, Any], settings: DigestSettings) -> str:
    direction = str(row["direction"]).capitalize()
    reversal = ", a reversal call" if bool(row.get("reversal")) else ""
    size = SIZE_WORDS.get(str(row.get("size_bucket")), "size unknown")
    odds = probability_words(float(row["internal_prob"]), list(settings.digest_prob_word_edges))
    return f"• <b>{words(row['symbol'])}</b> — {words(direction + reversal)}. Size: {words(size)}. Odds: {words(odds)}."


def signal_entry(row: dict[str, Any], settings: DigestSettings) -> str:
    """One signal as chat lines: a headline (direction, size, odds), then its evidence lines."""
    lines = [_headline(row, settings)]
    lines += [f"   – {words(e)}" for e in parse_list(row.get("evidence"))]
    return "\n".join(lines)


def market_entry(row: dict[str, Any], settings: DigestSettings) -> str:
    edges = list(settings.digest_prob_word_edges)
    text = f"• {words(row['question'])} The market sees yes as {probability_words(float(row['yes_price']), edges)}"
    internal = row.get("internal_prob")
    if internal is not None and not pd.isna(internal):
        text += f"; our read: {probability_words(float(internal), edges)}"
    return text + "."


def degraded_line(reasons: Sequence[str]) -> str:
    """The one plain line a digest from degraded inputs carries."""
    detail = "; ".join(str(r) for r in reasons if str(r).strip())
    return words(f"Heads-up: this digest was built from degraded inputs ({detail}).")


def render_chat(
    ranked: pd.DataFrame,
    markets: pd.DataFrame,
    as_of: pd.Timestamp,
    degraded_reasons: Sequence[str],
    settings: DigestSettings,
) -> tuple[str, dict[int, str]]:
    """(whole chat text, {row position in ranked: that signal's entry text})."""
    lines = ["<b>Tracer digest</b>", words(date_words(as_of))]
    if degraded_reasons:
        lines.append(degraded_line(degraded_reasons))
    entries: dict[int, str] = {}
    top = ranked[ranked["section"] == "top"] if len(ranked) else ranked
    alternates = ranked[ranked["section"] == "alternate"] if len(ranked) else ranked
    if top.empty:
        lines += [
            "",
            words(f"No signal passed the checks in the last {hours_words(settings.digest_window_hours)}."),
        ]
    else:
        lines += ["", "<b>Top signals</b>"]
        for pos, row in zip(top.index, records(top, SIGNAL_ENTRY_FIELDS), strict=True):
            entries[pos] = signal_entry(row, settings)
            lines.append(entries[pos])
    if not alternates.empty:
        lines += ["", "<b>Alternates</b>"]
        for pos, row in zip(alternates.index, records(alternates, SIGNAL_ENTRY_FIELDS), strict=True):
            entries[pos] = signal_entry(row, settings)
            lines.append(entries[pos])
    if not markets.empty:
        lines += ["", "<b>Prediction markets</b>"]
        lines += [market_entry(row, settings) for row in records(markets, MARKET_ENTRY_FIELDS)]
    text = "\n".join(lines)
    if has_digit(text):  # every piece above is spelled; a digit here is a bug, not bad input
        raise AssertionError("digest chat text contains a digit")
    return text, entries


def digest_artifact(
    digest_id: str,
    ranked: pd.DataFrame,
    markets: pd.DataFrame,
    as_of: pd.Timestamp,
    degraded_reasons: Sequence[str],
    settings: DigestSettings,
    n_live: int,
) -> dict[str, Any]:
    """The digest with every number, JSON-ready."""
    signal_fields = [
        "rank",
        "section",
        "signal_id",
        "symbol",
        "asset_class",
        *RANKED_FIELDS,
        "reversal",
        "horizon_hours",
        "decision_ts",
    ]
    items = []
    for row in records(ranked, [*signal_fields, "evidence", "rationale"]):
        item = {k: row.get(k) for k in signal_fields if k in row}
        item["evidence"] = parse_list(row.get("evidence"))
        raw = row.get("rationale")
        try:
            item["rationale"] = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            item["rationale"] = raw
        items.append(item)
    market_fields = [
        "market_id",
        "symbol",
        "question",
        "yes_price",
        "internal_prob",
        "disagreement",
        "end_ts",
    ]
    return clean(
        {
            "digest_id": digest_id,
            "as_of": pd.Timestamp(as_of),
            "degraded": bool(degraded_reasons),
            "degraded_reasons": [str(r) for r in degraded_reasons],
            "n_live_signals": n_live,
            "settings": {
                "top_n": settings.digest_top_n,
                "alternates": settings.digest_alternates,
                "window_hours": settings.digest_window_hours,
                "min_edge": settings.digest_min_edge,
            },
            "signals": items,
            "markets": records(markets, market_fields),
        }
    )
