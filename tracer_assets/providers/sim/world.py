"""The sim world: one seeded, offline source of bars, narratives and prediction markets.

``SimWorld`` implements ``BarsProvider``, ``NewsProvider`` and ``MarketsProvider``. Every day is
built from its own random streams, so a day fetched alone equals the same day inside any range.
The hidden truth (``truth_narratives``, ``truth_prices``) is served by separate methods that the
pipeline never calls for its inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.lake import new_id
from tracer_assets.providers.sim.bars import (
    EFFECT_K,
    HOURS_PER_YEAR,
    NEUTRAL_PARTICIPATION,
    SLOT_SECONDS,
    SLOTS,
    DayGrid,
    build_day_grid,
    day_bars,
)
from tracer_assets.providers.sim.headlines import URL_ROOT, render_day
from tracer_assets.providers.sim.markets import (
    SECONDS_PER_YEAR,
    DayMarkets,
    draw_day_markets,
    fair_yes_prob,
    quote,
    snapshot_frame,
)
from tracer_assets.providers.sim.narratives import DayNarratives, NarrativeParams, draw_day_narratives
from tracer_assets.providers.sim.streams import (
    DAY_SECONDS,
    HOUR_SECONDS,
    SIM_FIRST_DAY,
    UNIX_ORDINAL,
    check_day,
    day_start_seconds,
    days_touching,
    seconds_to_utc,
    to_seconds,
)
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument, Universe

SOURCE = "sim"
_CACHE_LIMIT = 200_000  # entries per cache; everything is recomputable, so overflow just clears

BARS_COLUMNS = ["symbol", "asset_class", "ts", "open", "high", "low", "close", "volume"]
NARRATIVE_COLUMNS = [
    "narrative_id",
    "symbol",
    "headline",
    "summary",
    "source",
    "url",
    "event_ts",
    "available_ts",
]
TRUTH_COLUMNS = [
    "narrative_id",
    "symbol",
    "event_ts",
    "true_polarity",
    "effect_size",
    "is_follow_up",
    "hard_phrasing",
]


def narrative_params(settings: TracerSettings) -> NarrativeParams:
    return NarrativeParams(
        per_day=settings.sim.sim_narratives_per_day,
        neutral_share=settings.sim.sim_neutral_share,
        hard_share=settings.sim.sim_hard_phrasing_share,
        follow_up_share=settings.sim.sim_follow_up_share,
        follow_up_effect=settings.sim.sim_follow_up_effect,
        magnitude_sigma=settings.sim.sim_effect_magnitude_sigma,
        ingest_delay_min_s=settings.sim.sim_ingest_delay_min_seconds,
        ingest_delay_max_s=max(
            settings.sim.sim_ingest_delay_max_seconds, settings.sim.sim_ingest_delay_min_seconds
        ),
        lag_h=settings.sim.sim_effect_lag_hours,
        ramp_h=settings.sim.sim_effect_ramp_hours,
        decay_h=settings.sim.sim_effect_decay_hours,
    )


class SimWorld:
    """Deterministic offline market, news and prediction-market world (see the module docstring)."""

    name = "sim"

    def __init__(self, settings: TracerSettings, universe: Universe) -> None:
        self.settings = settings
        self.universe = universe
        self.seed = int(settings.sim.sim_seed)
        self.strength = float(settings.sim.sim_effect_strength)
        self.params = narrative_params(settings)
        self._narratives: dict[tuple[Instrument, int], DayNarratives] = {}
        self._grids: dict[tuple[Instrument, int], DayGrid] = {}
        self._markets: dict[tuple[Instrument, int], DayMarkets] = {}

    # --- building blocks (cached per symbol and day) --------------------------------------------

    def day_narratives(self, inst: Instrument, ordinal: int) -> DayNarratives:
        """The numeric narrative draw of one (symbol, day)."""
        key = (inst, ordinal)
        found = self._narratives.get(key)
        if found is None:
            check_day(ordinal)
            found = draw_day_narratives(self.seed, inst.symbol, ordinal, self.params)
            self._remember(self._narratives, key, found)
        return found

    def day_grid(self, inst: Instrument, ordinal: int) -> DayGrid:
        """The latent half-hour price grid of one (symbol, day), planted effect included."""
        key = (inst, ordinal)
        found = self._grids.get(key)
        if found is None:
            check_day(ordinal)
            _check_instrument(inst)
            first = max(ordinal - self.params.days_back, SIM_FIRST_DAY.toordinal())
            days = [self.day_narratives(inst, d) for d in range(first, ordinal + 1)]
            event_s = np.concatenate([d.event_s for d in days])
            signed = np.concatenate([d.polarity * d.magnitude for d in days]).astype("float64")
            # polar stories draw trading in proportion to their effect; neutral ones a little
            weight = np.concatenate(
                [np.where(d.polarity == 0, NEUTRAL_PARTICIPATION, d.magnitude) for d in days]
            )
            found = build_day_grid(
                self.seed, inst, ordinal, event_s, signed, weight, self.params, self.strength
            )
            self._remember(self._grids, key, found)
        return found

    def log_price_at(self, inst: Instrument, times_s: np.ndarray) -> np.ndarray:
        """Latent log price at the given seconds since the Unix epoch (interpolated on the grid)."""
        times_s = np.asarray(times_s, dtype="int64")
        out = np.empty(len(times_s), dtype="float64")
        ordinals = times_s // DAY_SECONDS + UNIX_ORDINAL
        for ordinal in np.unique(ordinals):
            mask = ordinals == ordinal
            grid = self.day_grid(inst, int(ordinal))
            x = (times_s[mask] - day_start_seconds(int(ordinal))) / SLOT_SECONDS
            out[mask] = np.interp(x, np.arange(SLOTS + 1), grid.log_price)
        return out

    def day_markets(self, inst: Instrument, ordinal: int) -> DayMarkets:
        """The questions one crypto pair opens on one day."""
        key = (inst, ordinal)
        found = self._markets.get(key)
        if found is None:
            check_day(ordinal)
            found = draw_day_markets(
                self.seed,
                inst.symbol,
                float(inst.sim_vol_annual),
                ordinal,
                self.settings.sim.sim_markets_per_day,
                self.settings.sim.sim_market_max_days,
                lambda s: self.log_price_at(inst, s),
            )
            self._remember(self._markets, key, found)
        return found

    @staticmethod
    def _remember(cache: dict, key: tuple, value: object) -> None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    # --- BarsProvider ---------------------------------------------------------------------------

    def fetch_bars(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Hourly bars with open time in [start, end): crypto 24/7, stocks inside exchange sessions."""
        start_s, end_s = to_seconds(start), to_seconds(end)
        parts: dict[str, list] = {
            k: []
            for k in ("symbol", "asset_class", "ts_s", "end_s", "open", "high", "low", "close", "volume")
        }
        for inst in instruments:
            _check_instrument(inst)
            for ordinal in days_touching(start, end):
                bars = day_bars(inst, self.day_grid(inst, ordinal), self.universe.calendar)
                if bars is None:
                    continue
                keep = (bars["ts_s"] >= start_s) & (bars["ts_s"] < end_s)
                n = int(keep.sum())
                if not n:
                    continue
                for col in ("ts_s", "end_s", "open", "high", "low", "close", "volume"):
                    parts[col].append(bars[col][keep])
                parts["symbol"].append(np.full(n, inst.symbol, dtype=object))
                parts["asset_class"].append(np.full(n, inst.asset_class, dtype=object))
        if not parts["ts_s"]:
            return _bars_frame(
                {
                    k: np.array([], dtype="float64" if k not in ("symbol", "asset_class") else object)
                    for k in parts
                }
            )
        return _bars_frame({k: np.concatenate(v) for k, v in parts.items()})

    # --- NewsProvider ---------------------------------------------------------------------------

    def _narrative_rows(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp, truth: bool
    ) -> pd.DataFrame:
        start_s, end_s = to_seconds(start), to_seconds(end)
        rows: list[dict] = []
        for inst in instruments:
            _check_instrument(inst)
            for ordinal in days_touching(start, end):
                day = self.day_narratives(inst, ordinal)
                if not len(day):
                    continue
                if not truth:
                    headlines, summaries, sources = render_day(self.seed, inst.symbol, inst.asset_class, day)
                # peak move of the latent log price per unit of polarity x magnitude
                scale = self.strength * EFFECT_K * inst.sim_vol_annual / math.sqrt(HOURS_PER_YEAR)
                for i in range(len(day)):
                    ev = int(day.event_s[i])
                    if not start_s <= ev < end_s:
                        continue
                    narrative_id = new_id("sim-narrative", self.seed, inst.symbol, ordinal, i)
                    if truth:
                        rows.append(
                            {
                                "narrative_id": narrative_id,
                                "symbol": inst.symbol,
                                "event_ts": ev,
                                "true_polarity": int(day.polarity[i]),
                                "effect_size": scale * float(day.polarity[i] * day.magnitude[i]),
                                "is_follow_up": bool(day.parent[i] >= 0),
                                "hard_phrasing": bool(day.hard[i]),
                            }
                        )
                    else:
                        rows.append(
                            {
                                "narrative_id": narrative_id,
                                "symbol": inst.symbol,
                                "headline": headlines[i],
                                "summary": summaries[i],
                                "source": sources[i],
                                "url": URL_ROOT + narrative_id,
                                "event_ts": ev,
                                "available_ts": ev + int(day.delay_s[i]),
                            }
                        )
        columns = TRUTH_COLUMNS if truth else NARRATIVE_COLUMNS
        df = pd.DataFrame(rows, columns=columns)
        for col in ("event_ts", "available_ts"):
            if col in df.columns:
                df[col] = seconds_to_utc(df[col].to_numpy(dtype="int64"))
        for col in ("narrative_id", "symbol", "headline", "summary", "source", "url"):
            if col in df.columns:
                df[col] = df[col].astype("str")
        if truth:
            df = df.astype(
                {
                    "true_polarity": "int64",
                    "effect_size": "float64",
                    "is_follow_up": bool,
                    "hard_phrasing": bool,
                }
            )
        return df.sort_values(["event_ts", "symbol"], kind="stable").reset_index(drop=True)

    def fetch_narratives(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Stories published in [start, end) (table ``narratives``); no hidden truth in this frame."""
        return self._narrative_rows(instruments, start, end, truth=False)

    def truth_narratives(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Hidden truth of the same stories: true_polarity, signed peak log-price effect_size, flags."""
        return self._narrative_rows(instruments, start, end, truth=True)

    def truth_prices(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Hidden latent path on the half-hour grid in [start, end): log_price and its planted_effect part."""
        start_s, end_s = to_seconds(start), to_seconds(end)
        frames = []
        for inst in instruments:
            for ordinal in days_touching(start, end):
                grid = self.day_grid(inst, ordinal)
                ts_s = day_start_seconds(ordinal) + np.arange(SLOTS) * SLOT_SECONDS
                keep = (ts_s >= start_s) & (ts_s < end_s)
                frames.append(
                    pd.DataFrame(
                        {
                            "symbol": inst.symbol,
                            "ts": seconds_to_utc(ts_s[keep]),
                            "log_price": grid.log_price[:-1][keep],
                            "planted_effect": grid.effect[:-1][keep],
                        }
                    )
                )
        if not frames:
            return pd.DataFrame(
                {
                    "symbol": pd.Series(dtype="str"),
                    "ts": seconds_to_utc(np.array([], dtype="int64")),
                    "log_price": [],
                    "planted_effect": [],
                }
            )
        return pd.concat(frames, ignore_index=True)

    # --- MarketsProvider ------------------------------------------------------------------------

    def fetch_markets(self, instruments: list[Instrument], as_of: pd.Timestamp) -> pd.DataFrame:
        """Snapshot at ``as_of``: questions opened by then and not resolved before as_of's UTC day."""
        as_of = utc(as_of)
        as_of_s = to_seconds(as_of)
        day0 = as_of.floor("D").date().toordinal()
        day0_s = day_start_seconds(day0)
        price_s = as_of_s - as_of_s % HOUR_SECONDS  # last hourly close known at as_of
        noise_sd = self.settings.sim.sim_market_price_noise
        first = max(day0 - self.settings.sim.sim_market_max_days - 1, SIM_FIRST_DAY.toordinal())
        rows: list[dict] = []
        for inst in instruments:
            if inst.asset_class != "crypto":
                continue
            _check_instrument(inst)
            log_spot = float(self.log_price_at(inst, np.array([price_s]))[0])
            for ordinal in range(first, day0 + 1):
                m = self.day_markets(inst, ordinal)
                for j in range(len(m.market_id)):
                    created, end = int(m.created_s[j]), int(m.end_s[j])
                    if created > as_of_s or end < day0_s:
                        continue
                    row = {
                        "market_id": m.market_id[j],
                        "question": m.question[j],
                        "symbol": inst.symbol,
                        "end_ts": end,
                        "strike": float(m.strike[j]),
                        "created_ts": created,
                    }
                    if end <= as_of_s:
                        # the close of the end day's last hourly bar, exactly as fetch_bars reports it
                        close_day = end // DAY_SECONDS + UNIX_ORDINAL - 1
                        final = np.exp(self.day_grid(inst, close_day).log_price)[-1]
                        outcome = 1.0 if final > m.strike[j] else 0.0
                        _, _, _, volume, liquidity = quote(self.seed, m, j, end, outcome, 0.0)
                        yes, bid, ask, resolved = outcome, outcome, outcome, outcome
                    else:
                        years = np.array([(end - price_s) / SECONDS_PER_YEAR])
                        fair = fair_yes_prob(
                            np.array([log_spot]), m.strike[j : j + 1], years, inst.sim_vol_annual
                        )
                        yes, bid, ask, volume, liquidity = quote(
                            self.seed, m, j, as_of_s, float(fair[0]), noise_sd
                        )
                        resolved = np.nan
                    row |= {
                        "yes_price": yes,
                        "closed": end <= as_of_s,
                        "resolved_outcome": resolved,
                        "best_bid": bid,
                        "best_ask": ask,
                        "volume": volume,
                        "liquidity": liquidity,
                    }
                    rows.append(row)
        return snapshot_frame(rows, as_of, SOURCE)


def _check_instrument(inst: Instrument) -> None:
    if inst.asset_class not in ("crypto", "stock"):
        raise ValueError(f"{inst.symbol}: unknown asset_class {inst.asset_class!r} (crypto or stock)")
    if not inst.sim_price > 0 or not inst.sim_vol_annual > 0:
        raise ValueError(f"{inst.symbol}: sim_price and sim_vol_annual must be > 0")


def _bars_frame(parts: dict[str, np.ndarray]) -> pd.DataFrame:
    end = seconds_to_utc(parts["end_s"])
    df = pd.DataFrame(
        {
            "symbol": pd.array(parts["symbol"], dtype="str"),
            "asset_class": pd.array(parts["asset_class"], dtype="str"),
            "ts": seconds_to_utc(parts["ts_s"]),
            **{
                col: np.asarray(parts[col], dtype="float64")
                for col in ("open", "high", "low", "close", "volume")
            },
            "event_ts": end,
            "available_ts": end,
            "source": SOURCE,
        }
    )
    df["source"] = df["source"].astype("str")
    return df.sort_values(["ts", "symbol"], kind="stable").reset_index(drop=True)
