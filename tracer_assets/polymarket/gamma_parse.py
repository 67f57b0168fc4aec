"""Pure parsing of Polymarket Gamma markets: decoding, resolution, and the link to a universe symbol.

Facts (see shared PROVIDERS.md): ``outcomes``, ``outcomePrices``, ``clobTokenIds`` and
``umaResolutionStatuses`` are JSON arrays encoded as strings; ``volume``/``liquidity`` are decimal
strings on a market. There is no winner field: a market is resolved when it is closed, its UMA status
(if any) is ``resolved`` and its prices collapsed to 1/0 (winner "1") or 0.5/0.5 (unknown, pays half).
Old markets may be closed with prices like 0.9999996 and no status: "closed and max price >=
``resolved_price_min``" counts as resolved then. negRisk markets (one binary market per outcome of a
multi-outcome event) are kept with ``neg_risk`` so evaluation can treat them apart.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tracer_assets.universe import Instrument

# Names a question may use for a universe symbol; tickers themselves always count (case-sensitive).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "BTC": ("Bitcoin",),
    "ETH": ("Ethereum", "Ether"),
    "SOL": ("Solana",),
    "AVAX": ("Avalanche",),
    "LINK": ("Chainlink",),
    "DOGE": ("Dogecoin",),
    "XRP": ("Ripple",),
    "AAPL": ("Apple",),
    "MSFT": ("Microsoft",),
    "NVDA": ("Nvidia",),
    "TSLA": ("Tesla",),
    "AMZN": ("Amazon",),
    "COIN": ("Coinbase",),
    "GOOGL": ("Google", "Alphabet"),
    "META": ("Meta Platforms",),
}
# Tickers that are ordinary words in a lower-case slug ("link", "coin"): matched in slugs by name only.
_SLUG_STOPWORDS = {"link", "coin", "sol", "meta", "one", "amp", "op"}
_HALF_TOLERANCE = 1e-6


class SymbolMatcher:
    """Links a market's question (or slug) to the universe symbol it mentions first."""

    def __init__(self, instruments: list[Instrument], aliases: dict[str, tuple[str, ...]] | None = None):
        aliases = DEFAULT_ALIASES if aliases is None else aliases
        self._question: list[tuple[re.Pattern[str], str]] = []
        self._slug: list[tuple[set[str], str]] = []
        for inst in instruments:
            base = inst.symbol.split("/")[0].upper()
            names = aliases.get(base, ())
            for name in names:
                self._question.append((re.compile(rf"(?<![\w$]){re.escape(name)}(?!\w)", re.I), inst.symbol))
            self._question.append(
                (re.compile(rf"(?<![A-Za-z0-9])\$?{re.escape(base)}(?![A-Za-z0-9])"), inst.symbol)
            )
            slug_tokens = {"-".join(n.lower().split()) for n in names}
            if base.lower() not in _SLUG_STOPWORDS:
                slug_tokens.add(base.lower())
            self._slug.append((slug_tokens, inst.symbol))

    def match(self, question: str | None, slug: str | None = None) -> str | None:
        best: tuple[int, str] | None = None
        for pattern, symbol in self._question:
            found = pattern.search(question or "")
            if found and (best is None or found.start() < best[0]):
                best = (found.start(), symbol)
        if best is not None:
            return best[1]
        slug_text = f"-{(slug or '').lower()}-"
        for tokens, symbol in self._slug:
            if any(f"-{token}-" in slug_text for token in tokens):
                return symbol
        return None


def decode_array(value: Any) -> Any:
    """A string-encoded JSON array decoded (``'["Yes", "No"]'`` -> ``["Yes", "No"]``); others untouched."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            raise ValueError(f"not a JSON array: {value[:60]!r}") from None
        if not isinstance(decoded, list):
            raise ValueError(f"not a JSON array: {value[:60]!r}")
        return decoded
    return value


def parse_closed_time(value: Any) -> pd.Timestamp | None:
    """``'2025-12-31 09:10:57+00'`` (not RFC 3339) or an RFC 3339 string -> UTC timestamp, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"([+-]\d\d)$", r"\1:00", value.strip())
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    if ts is pd.NaT or ts.tzinfo is None:
        return None
    return ts.tz_convert("UTC")


class GammaMarketIn(BaseModel):
    """One Gamma market as received (extra fields allowed, string-encoded arrays decoded)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    slug: str | None = None
    conditionId: str | None = None
    endDate: AwareDatetime | None = None
    endDateIso: str | None = None
    closedTime: str | None = None
    active: bool | None = None
    closed: bool = False
    negRisk: bool = False
    negRiskMarketID: str | None = None
    outcomes: list[str]
    outcomePrices: list[float]
    clobTokenIds: list[str] | None = None
    umaResolutionStatus: str | None = None
    umaResolutionStatuses: list[str] | None = None
    bestBid: float | None = None
    bestAsk: float | None = None
    lastTradePrice: float | None = None
    volumeNum: float | None = None
    volume: float | None = None
    liquidityNum: float | None = None
    liquidity: float | None = None

    @field_validator("outcomes", "outcomePrices", "clobTokenIds", "umaResolutionStatuses", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        return decode_array(value)

    @model_validator(mode="after")
    def _consistent(self) -> GammaMarketIn:
        if len(self.outcomes) != len(self.outcomePrices):
            raise ValueError(f"{len(self.outcomes)} outcomes but {len(self.outcomePrices)} outcomePrices")
        if len(self.outcomes) != 2:
            raise ValueError(f"expected a binary market, got {len(self.outcomes)} outcomes")
        for price in self.outcomePrices:
            if not math.isfinite(price) or not 0.0 <= price <= 1.0:
                raise ValueError(f"outcome price {price} outside [0, 1]")
        if self.endDate is None and not self.endDateIso:
            raise ValueError("missing endDate")
        return self

    @property
    def resolution_status(self) -> str | None:
        if self.umaResolutionStatus:
            return self.umaResolutionStatus
        if self.umaResolutionStatuses:
            return self.umaResolutionStatuses[-1]
        return None


def resolve_outcome(
    closed: bool, status: str | None, prices: list[float], yes_index: int, resolved_price_min: float
) -> tuple[float, str]:
    """(resolved_outcome, note): 1.0 / 0.0 for the yes side winning / losing, 0.5 for a 50-50, NaN if not resolved."""
    if not closed:
        return math.nan, "open"
    if status and status.lower() != "resolved":
        return math.nan, f"closed, UMA status {status}"
    if all(abs(p - 0.5) <= _HALF_TOLERANCE for p in prices):
        return 0.5, "resolved 50-50"
    top = max(range(len(prices)), key=lambda i: prices[i])
    if prices[top] >= resolved_price_min:
        note = "resolved" if status else "resolved (closed, price fallback)"
        return (1.0 if top == yes_index else 0.0), note
    return math.nan, "closed, prices not collapsed"


@dataclass(frozen=True)
class ParsedMarket:
    row: dict[str, Any] | None
    reason: str | None = None  # why it goes to quarantine, when row is None


def parse_market(
    item: Any,
    *,
    matcher: SymbolMatcher,
    snapshot_ts: pd.Timestamp,
    fetched_at: pd.Timestamp,
    resolved_price_min: float,
    symbol_hint: str | None = None,
    source: str = "gamma",
) -> ParsedMarket:
    """One Gamma market -> a ``polymarket_markets`` row (``symbol`` None when it bears on no symbol)."""
    if not isinstance(item, dict):
        return ParsedMarket(None, f"schema drift: market is a {type(item).__name__}, not an object")
    try:
        market = GammaMarketIn.model_validate(item)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(x) for x in e.get('loc', ())) or 'market'}: {e.get('msg')}"
            for e in exc.errors()[:3]
        )
        if "timezone" in errors:
            errors = f"naive timestamp ({errors})"
        return ParsedMarket(None, errors)
    labels = [o.strip().lower() for o in market.outcomes]
    yes_index = labels.index("yes") if "yes" in labels else 0
    outcome_type = "yes_no" if sorted(labels) == ["no", "yes"] else "binary"
    status = market.resolution_status
    resolved, note = resolve_outcome(
        market.closed, status, market.outcomePrices, yes_index, resolved_price_min
    )
    end_ts = (
        pd.Timestamp(market.endDate).tz_convert("UTC")
        if market.endDate is not None
        else pd.Timestamp(market.endDateIso).tz_localize("UTC")
    )
    # The text's own mention wins; a discovery hint links markets whose text names no symbol.
    symbol = matcher.match(market.question, market.slug) or symbol_hint
    volume = market.volumeNum if market.volumeNum is not None else market.volume
    liquidity = market.liquidityNum if market.liquidityNum is not None else market.liquidity
    return ParsedMarket(
        {
            "market_id": market.id,
            "question": market.question.strip(),
            "symbol": symbol,
            "yes_price": float(market.outcomePrices[yes_index]),
            "end_ts": end_ts,
            "closed": bool(market.closed),
            "resolved_outcome": resolved,
            "event_ts": min(snapshot_ts, fetched_at),
            "available_ts": fetched_at,
            "neg_risk": bool(market.negRisk),
            "neg_risk_group": market.negRiskMarketID,
            "outcome_type": outcome_type,
            "yes_outcome": market.outcomes[yes_index],
            "best_bid": market.bestBid,
            "best_ask": market.bestAsk,
            "last_trade_price": market.lastTradePrice,
            "volume": volume,
            "liquidity": liquidity,
            "slug": market.slug,
            "condition_id": market.conditionId,
            "clob_token_ids": json.dumps(market.clobTokenIds) if market.clobTokenIds is not None else None,
            "active": market.active,
            "closed_ts": parse_closed_time(market.closedTime),
            "resolution_status": status,
            "resolution_note": note,
            "source": source,
        }
    )


MARKET_EXTRAS = {
    "neg_risk": "bool",
    "neg_risk_group": "str",
    "outcome_type": "str",
    "yes_outcome": "str",
    "best_bid": "float64",
    "best_ask": "float64",
    "last_trade_price": "float64",
    "volume": "float64",
    "liquidity": "float64",
    "slug": "str",
    "condition_id": "str",
    "clob_token_ids": "str",
    "active": "object",
    "closed_ts": "datetime64[us, UTC]",
    "resolution_status": "str",
    "resolution_note": "str",
    "source": "str",
}
