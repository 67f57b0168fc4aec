"""``run_chain``: the daily stages in DAG order over a range of days, as one single-run range (what
the assets do in a backfill), each stage's output written into the store before the next reads it.

    store = MemoryStore()
    result = run_chain(store, TracerSettings(), "2025-01-06", "2025-03-30")
    result.signals, result.held_back, result.eval_observations

Research loops compute the upstream tables once and fork the store per parameter set:

    base = MemoryStore(); run_chain(base, settings, first, last, stages=UPSTREAM_STAGES)
    for s in variants: run_chain(base.fork(), s, first, last, stages=SIGNAL_STAGES)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.pipeline import evaluation, market, polymarket, sentiment
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.pipeline.digest import daily_digest
from tracer_assets.pipeline.fetch import fetch_guarded, store_fetched
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, concat
from tracer_assets.providers.health import record_fetch
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import SignalsResult
from tracer_assets.universe import Universe, load_universe

DAILY_STAGES = (
    "bars",
    "narratives",
    "price_features",
    "narrative_scores",
    "narrative_pressure",
    "signals",
    "polymarket_markets",
    "digest",
    "eval_observations",
    "hit_rate_trend",
)
UPSTREAM_STAGES = ("bars", "narratives", "price_features", "narrative_scores", "narrative_pressure")
SIGNAL_STAGES = ("signals", "eval_observations")


@dataclass(frozen=True)
class Providers:
    """The outside sources a chain fetches from."""

    bars: Any
    news: Any
    markets: Any

    @classmethod
    def from_settings(cls, settings: TracerSettings, universe: Universe | None = None) -> Providers:
        """The providers the settings select (the sim world by default, one world for all three)."""
        from tracer_assets.providers import registry

        if {
            settings.providers.bars_provider,
            settings.providers.news_provider,
            settings.providers.markets_provider,
        } == {"sim"}:
            world = registry.build_bars_provider(settings, settings.lake.lake_root, universe)
            return cls(world, world, world)
        return cls(
            registry.build_bars_provider(settings, settings.lake.lake_root, universe),
            registry.build_news_provider(settings, settings.lake.lake_root, universe),
            registry.build_markets_provider(settings, settings.lake.lake_root, universe),
        )


@dataclass
class ChainResult:
    """What each stage returned, by table name, and the signals stage's full result."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    signals_result: SignalsResult | None = None

    def _frame(self, table: str) -> pd.DataFrame:
        return self.frames.get(table, pd.DataFrame())

    @property
    def signals(self) -> pd.DataFrame:
        return self._frame("signals")

    @property
    def held_back(self) -> pd.DataFrame:
        return self._frame("signals_held_back")

    @property
    def eval_observations(self) -> pd.DataFrame:
        return self._frame("eval_observations")

    @property
    def n_decisions(self) -> int:
        return self.signals_result.n_decisions if self.signals_result is not None else 0


def _days(first, last) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(utc(first).floor("D"), utc(last).floor("D"))]


def run_chain(
    store: Store,
    settings: TracerSettings,
    start,
    end,
    *,
    providers: Providers | None = None,
    universe: Universe | None = None,
    stages: Iterable[str] | None = None,
    cache_root: str | Path | None = None,
    run_id: str = "run_chain",
    now: pd.Timestamp | None = None,
) -> ChainResult:
    """Run the daily stages over the days ``start`` .. ``end`` (inclusive day keys) in DAG order.

    ``stages`` picks a subset (in DAG order, default all of ``DAILY_STAGES``); ``providers`` default to
    the ones ``settings`` select; ``cache_root`` is where the sentiment model caches live (None: no
    cache); ``now`` stands for the wall clock (live clipping of today's partition).
    """
    days = _days(start, end)
    if not days:
        raise ValueError(f"run_chain: empty range {start}..{end}")
    wanted = set(DAILY_STAGES if stages is None else stages)
    unknown = wanted - set(DAILY_STAGES)
    if unknown:
        raise ValueError(f"run_chain: unknown stages {sorted(unknown)}; known: {', '.join(DAILY_STAGES)}")
    s = settings
    universe = universe if universe is not None else load_universe(s.market.universe)
    w0, w1 = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC") + DAY
    fetching = wanted & {"bars", "narratives", "polymarket_markets"}
    if fetching and providers is None:
        providers = Providers.from_settings(s, universe)
    out = ChainResult()

    def write(table: str, df: pd.DataFrame, by: str) -> None:
        store.write_partitions(table, df, days, by=by)
        out.frames[table] = df

    for table, provider in (("bars", "bars"), ("narratives", "news")):
        if table in wanted:
            result = fetch_guarded(
                store,
                table,
                getattr(providers, provider),
                list(universe.instruments),
                w0,
                w1,
                days,
                s.safety,
                now,
            )
            store_fetched(store, table, days, result, run_id, now)
            out.frames[table] = result.frame
    if "price_features" in wanted:
        write("price_features", market.price_features(store, s, w0, w1), "ts")
    if "narrative_scores" in wanted:
        write("narrative_scores", sentiment.narrative_scores(store, s, w0, w1, cache_root), "event_ts")
    if "narrative_pressure" in wanted:
        write(
            "narrative_pressure",
            sentiment.narrative_pressure(store, s, universe.symbols, w0, w1),
            "decision_ts",
        )
    if "signals" in wanted:
        result = signal_stage.signals(store, s, w0, w1)
        write("signals", result.signals, "decision_ts")
        write("signals_held_back", result.held_back, "decision_ts")
        out.signals_result = result
    if "polymarket_markets" in wanted:
        boards = []
        for md in polymarket.polymarket_markets(store, s, universe, providers.markets, days, now):
            record_fetch(store, md.fetched, asset="polymarket_markets", days=[md.day], run_id=run_id, now=now)
            if md.board is not None:
                store.write_partition("polymarket_markets", md.day, md.board)
                boards.append(md.board)
        out.frames["polymarket_markets"] = concat(boards)
    if "digest" in wanted:
        digests = [daily_digest(store, s, day, now) for day in days]
        for day, built in zip(days, digests, strict=True):
            store.write_partition("digest", day, built.rows)
        out.frames["digest"] = concat([d.rows for d in digests])
    if "eval_observations" in wanted:
        obs, _ = evaluation.eval_observations(store, s, universe, w0, w1, now)
        write("eval_observations", obs, "available_ts")
    if "hit_rate_trend" in wanted:
        trends = evaluation.hit_rate_trend(store, s, days, now)
        for day, trend in trends.items():
            store.write_partition("hit_rate_trend", day, trend)
        out.frames["hit_rate_trend"] = concat(list(trends.values()))
    return out
