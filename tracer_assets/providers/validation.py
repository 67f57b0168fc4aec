"""Validation of parsed rows, and the quarantine where bad rows go with their reason.

Parsers validate each received item with a pydantic model (schema drift, missing fields, NaN or
non-positive prices, negative volume, naive timestamps) and each fetch with sequence checks
(duplicate or out-of-order bars). A row that fails is never dropped: it becomes a quarantine row.

Quarantine columns (lake table ``quarantine``):
``quarantine_id`` (stable id), ``table`` (the table the row was meant for), ``reason``,
``payload`` (the received item as JSON, truncated), ``provider``, ``raw_ref`` (the raw body file),
``event_ts`` (the row's own time when it could be read and lies in the request window, else the
window's start: a quarantine row always falls in the partitions being written),
``available_ts`` (when the response was received).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tracer_assets.lake import new_id
from tracer_assets.providers.raw_zone import RawDecodeError
from tracer_assets.providers.redact import Redactor

QUARANTINE_COLUMNS = [
    "quarantine_id",
    "table",
    "reason",
    "payload",
    "provider",
    "raw_ref",
    "event_ts",
    "available_ts",
]


def empty_quarantine() -> pd.DataFrame:
    """A quarantine frame with no rows and the contract's dtypes (a copy: callers may add to it)."""
    return _empty_quarantine().copy()


@functools.cache
def _empty_quarantine() -> pd.DataFrame:
    # built once: a fetch writes an empty quarantine part for every good day of its range
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS})
    for col in ("event_ts", "available_ts"):
        frame[col] = pd.Series(dtype="datetime64[us, UTC]")
    return frame


class Quarantine:
    """Collects rows that failed validation for one provider; ``frame()`` gives the quarantine rows."""

    def __init__(
        self,
        provider: str,
        max_payload_chars: int = 4000,
        redactor: Redactor | None = None,
        window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    ):
        self.provider = provider
        self.window = window
        self.max_payload_chars = max_payload_chars
        self.redactor = redactor or Redactor()
        self._rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        table: str,
        reason: str,
        payload: Any,
        event_ts: pd.Timestamp | None,
        available_ts: pd.Timestamp,
        raw_ref: str | None = None,
    ) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str, sort_keys=True)
        text = self.redactor.text(text)[: self.max_payload_chars]
        reason = self.redactor.text(reason)
        available_ts = pd.Timestamp(available_ts).tz_convert("UTC")
        event_ts = pd.Timestamp(event_ts).tz_convert("UTC") if event_ts is not None else available_ts
        if self.window is not None and not (self.window[0] <= event_ts < self.window[1]):
            event_ts = self.window[0]
        self._rows.append(
            {
                "quarantine_id": new_id(self.provider, table, reason, text, raw_ref),
                "table": table,
                "reason": reason,
                "payload": text,
                "provider": self.provider,
                "raw_ref": raw_ref,
                "event_ts": event_ts,
                "available_ts": available_ts,
            }
        )

    def frame(self) -> pd.DataFrame:
        if not self._rows:
            return empty_quarantine()
        frame = pd.DataFrame(self._rows, columns=QUARANTINE_COLUMNS)
        for col in ("event_ts", "available_ts"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame


def decoded_pages(
    records: Iterable, quarantine: Quarantine, table: str, at: pd.Timestamp, order: Callable = lambda r: r.seq
) -> Iterator[tuple[Any, Any]]:
    """(record, JSON body) of each raw page in ``order``; a page whose body does not decode is
    quarantined (dated ``at``) and skipped."""
    for rec in sorted(records, key=order):
        try:
            body = rec.json()
        except RawDecodeError as exc:
            quarantine.add(table, str(exc), rec.text(), at, rec.fetched_at, rec.ref)
            continue
        yield rec, body


def validation_reason(exc: ValidationError, limit: int = 3) -> str:
    """'field: message' for the first few errors of a pydantic validation failure."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(x) for x in err.get("loc", ())) or "item"
        msg = err.get("msg", "invalid")
        if "timezone" in msg:
            msg = f"naive timestamp ({msg})"
        parts.append(f"{loc}: {msg}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; +{more} more" if more > 0 else "")


def validate_item(model: type[BaseModel], item: Any) -> tuple[BaseModel | None, str | None]:
    """(model, None) when ``item`` is valid, else (None, reason)."""
    if not isinstance(item, dict):
        return None, f"schema drift: expected an object, got {type(item).__name__}"
    try:
        return model.model_validate(item), None
    except ValidationError as exc:
        return None, validation_reason(exc)


def validated(
    model: type[BaseModel],
    item: Any,
    quarantine: Quarantine,
    table: str,
    record: Any,
    fallback_ts: pd.Timestamp,
    time_key: str,
    payload: Any = None,
) -> Any:
    """``item`` validated as ``model``, or None after filing it in ``quarantine`` with the reason.

    The quarantine row is dated by the item's own ``time_key`` when readable, else ``fallback_ts``;
    ``payload`` (the item when None) is what the row keeps; ``record`` is the raw record it came in.
    """
    parsed, reason = validate_item(model, item)
    if parsed is None:
        quarantine.add(
            table,
            reason,
            item if payload is None else payload,
            first_time(item, time_key) or fallback_ts,
            record.fetched_at,
            record.ref,
        )
    return parsed


def first_time(item: Any, *keys: str) -> pd.Timestamp | None:
    """The first tz-aware timestamp among ``item[keys]``, for a quarantine row's event_ts."""
    if not isinstance(item, dict):
        return None
    for key in keys:
        value = item.get(key)
        if value in (None, ""):
            continue
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError):
            continue
        if ts is not pd.NaT and ts.tzinfo is not None:
            return ts.tz_convert("UTC")
    return None


# ---- received shapes -------------------------------------------------------------------------


class AlpacaBarIn(BaseModel):
    """One Alpaca bar as received: ``t`` is the bar's open; ``n`` and ``vw`` may be null."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    t: AwareDatetime
    open: float = Field(alias="o", gt=0, allow_inf_nan=False)
    high: float = Field(alias="h", gt=0, allow_inf_nan=False)
    low: float = Field(alias="l", gt=0, allow_inf_nan=False)
    close: float = Field(alias="c", gt=0, allow_inf_nan=False)
    volume: float = Field(alias="v", ge=0, allow_inf_nan=False)
    n: int | None = None
    vw: float | None = None

    @model_validator(mode="after")
    def _ohlc_consistent(self) -> AlpacaBarIn:
        if self.high < max(self.open, self.close, self.low) or self.low > min(
            self.open, self.close, self.high
        ):
            raise ValueError(
                f"inconsistent OHLC: high {self.high} / low {self.low} vs open {self.open} / close {self.close}"
            )
        return self


class AlpacaNewsIn(BaseModel):
    """One Alpaca news article as received."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    headline: str = Field(min_length=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    summary: str | None = ""
    url: str | None = None
    author: str | None = None
    source: str | None = None
    symbols: list[str] = Field(default_factory=list)


class NewsItemIn(BaseModel):
    """One item of Perplexity's structured news answer."""

    model_config = ConfigDict(extra="allow")

    symbol: str = Field(min_length=1)
    headline: str = Field(min_length=1)
    published_at: AwareDatetime
    summary: str | None = ""
    url: str | None = None
    source: str | None = None


def check_bar_sequence(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Split bars, in received order, into kept rows and (row, reason) for duplicates and out-of-order bars.

    A bar whose (symbol, ts) was already seen is a duplicate; one older than the latest bar already
    received for its symbol is out of order. The first occurrence is kept.
    """
    seen: set[tuple[str, datetime]] = set()
    latest: dict[str, datetime] = {}
    kept, bad = [], []
    for row in rows:
        key = (row["symbol"], row["ts"])
        if key in seen:
            bad.append((row, "duplicate bar"))
            continue
        last = latest.get(row["symbol"])
        if last is not None and row["ts"] < last:
            bad.append((row, f"out-of-order bar (after {pd.Timestamp(last).isoformat()})"))
            continue
        seen.add(key)
        latest[row["symbol"]] = row["ts"]
        kept.append(row)
    return kept, bad


def check_bar_values(
    rows: list[dict[str, Any]],
    grid: pd.Timedelta | None,
    max_price: float,
    max_jump_factor: float,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Split bars into kept rows and (row, reason) for values no market gives.

    Reasons: an open off the timeframe's grid (``grid``: the bar length for intraday timeframes,
    counted from UTC midnight; None skips the check), a price above ``max_price``, a VWAP outside
    [low, high], and a close ``max_jump_factor`` times above or below both neighbouring closes of
    its symbol (one absurd print between two sane ones). Non-finite or non-positive prices, high
    below low, open or close outside [low, high] and negative volume are caught per item earlier.
    """
    kept, bad = [], []
    for row in rows:
        prices = [row[c] for c in ("open", "high", "low", "close")]
        vwap = row.get("vwap")
        if grid is not None and (row["ts"] - row["ts"].normalize()) % grid:
            bad.append((row, f"bar open {row['ts'].isoformat()} is off the {grid} grid"))
        elif max(prices) > max_price or (vwap == vwap and vwap is not None and vwap > max_price):
            bad.append((row, f"absurd price: above the sanity bound {max_price:g} (bar_max_price)"))
        elif vwap is not None and vwap == vwap and not (row["low"] <= vwap <= row["high"]):
            bad.append((row, f"vwap {vwap} outside [low {row['low']}, high {row['high']}]"))
        else:
            kept.append(row)
    by_symbol: dict[str, list[int]] = {}
    for i, row in enumerate(kept):
        by_symbol.setdefault(row["symbol"], []).append(i)
    jumps: set[int] = set()
    for positions in by_symbol.values():
        ordered = sorted(positions, key=lambda i: kept[i]["ts"])
        closes = [kept[i]["close"] for i in ordered]
        for k in range(1, len(ordered) - 1):
            up = closes[k] > max_jump_factor * closes[k - 1] and closes[k] > max_jump_factor * closes[k + 1]
            down = closes[k] * max_jump_factor < closes[k - 1] and closes[k] * max_jump_factor < closes[k + 1]
            if up or down:
                jumps.add(ordered[k])
    for i in sorted(jumps):
        bad.append(
            (kept[i], f"absurd jump: close {kept[i]['close']} is {max_jump_factor:g}x off both neighbours")
        )
    return [row for i, row in enumerate(kept) if i not in jumps], bad
