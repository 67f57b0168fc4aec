"""Builds the providers the settings select; a real provider without its keys fails at start-up.

``TRACER_BARS_PROVIDER`` (sim | alpaca | replay), ``TRACER_NEWS_PROVIDER`` (sim | alpaca | perplexity |
replay), ``TRACER_MARKETS_PROVIDER`` (sim | polymarket | perplexity | replay), ``TRACER_NOTIFIER``
(outbox | telegram). All real clients of a process share one breaker registry, so a service that
failed for one asset is skipped by the next until its cool-down passes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracer_assets.providers.redact import Redactor, install_log_redaction
from tracer_assets.providers.resilience import ProviderConfigError, Resilience
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe, load_universe

__all__ = [
    "ProviderConfigError",
    "build_bars_provider",
    "build_markets_provider",
    "build_news_provider",
    "build_notifier",
    "check_provider_keys",
]


def _set(value: Any) -> bool:
    if value is None:
        return False
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return bool(plain.strip())


def _alpaca_problems(
    settings: TracerSettings, selector: str, keys_required: bool, why: str = ""
) -> list[str]:
    has_key, has_secret = _set(settings.providers.alpaca_key_id), _set(settings.providers.alpaca_secret_key)
    if has_key != has_secret:
        missing = "TRACER_ALPACA_SECRET_KEY" if has_key else "TRACER_ALPACA_KEY_ID"
        return [f"{selector}=alpaca: {missing} is missing (Alpaca keys come in pairs)"]
    if keys_required and not has_key:
        return [f"{selector}=alpaca needs TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY{why}"]
    return []


def _problems(kind: str, settings: TracerSettings, universe: Universe | None) -> list[str]:
    if kind == "bars" and settings.providers.bars_provider == "alpaca":
        # Crypto bars need no keys; stock bars do.
        has_stocks = universe is None or bool(universe.of_class("stock"))
        why = " (the universe holds stocks)" if universe is not None else ""
        return _alpaca_problems(settings, "TRACER_BARS_PROVIDER", keys_required=has_stocks, why=why)
    if kind == "news" and settings.providers.news_provider == "alpaca":
        return _alpaca_problems(settings, "TRACER_NEWS_PROVIDER", keys_required=True)
    if (
        kind == "news"
        and settings.providers.news_provider == "perplexity"
        and not _set(settings.providers.perplexity_api_key)
    ):
        return ["TRACER_NEWS_PROVIDER=perplexity needs TRACER_PERPLEXITY_API_KEY"]
    if (
        kind == "markets"
        and settings.providers.markets_provider == "perplexity"
        and not _set(settings.providers.perplexity_api_key)
    ):
        return ["TRACER_MARKETS_PROVIDER=perplexity needs TRACER_PERPLEXITY_API_KEY"]
    if kind == "notifier" and settings.providers.notifier == "telegram":
        missing = [
            name
            for name, value in (
                ("TRACER_TELEGRAM_BOT_TOKEN", settings.providers.telegram_bot_token),
                ("TRACER_TELEGRAM_CHAT_ID", settings.providers.telegram_chat_id),
            )
            if not _set(value)
        ]
        if missing:
            return [f"TRACER_NOTIFIER=telegram needs {' and '.join(missing)}"]
    return []


def _universe_or_none(settings: TracerSettings) -> Universe | None:
    try:
        return load_universe(settings.market.universe)
    except (OSError, ValueError):
        return None  # then keys are required as if the universe held stocks


def check_provider_keys(settings: TracerSettings, universe: Universe | None = None) -> list[str]:
    """Every problem with the selected providers' keys, each naming the missing setting; [] if none."""
    universe = universe if universe is not None else _universe_or_none(settings)
    return [
        p for kind in ("bars", "news", "markets", "notifier") for p in _problems(kind, settings, universe)
    ]


def _require(kind: str, settings: TracerSettings, universe: Universe | None) -> None:
    problems = _problems(kind, settings, universe)
    if problems:
        raise ProviderConfigError("; ".join(problems))


def _live(provider_cls: Callable[..., Any], settings: TracerSettings, lake_root: str | Path):
    """A real client on its own redactor (installed on the log handlers) and the shared breakers."""
    redactor = Redactor.from_settings(settings)
    install_log_redaction(redactor)
    return provider_cls(
        settings, lake_root, resilience=Resilience(settings, redactor=redactor), redactor=redactor
    )


def _sim(settings: TracerSettings, universe: Universe | None):
    from tracer_assets.providers.sim import SimWorld  # written apart; imported only when selected

    return SimWorld(settings, universe if universe is not None else load_universe(settings.market.universe))


# (kind, choice) -> "module:class" of the provider, imported only when selected
_CLASSES = {
    ("bars", "replay"): "replay:ReplayBarsProvider",
    ("bars", "alpaca"): "alpaca_bars:AlpacaBarsProvider",
    ("news", "replay"): "replay:ReplayNewsProvider",
    ("news", "alpaca"): "alpaca_news:AlpacaNewsProvider",
    ("news", "perplexity"): "perplexity_news:PerplexityNewsProvider",
    ("markets", "replay"): "replay:ReplayMarketsProvider",
    ("markets", "polymarket"): "polymarket_gamma:PolymarketGammaProvider",
    ("markets", "perplexity"): "perplexity_discovery:PerplexityDiscoveryProvider",
}


def _build(kind: str, settings: TracerSettings, lake_root: str | Path, universe: Universe | None):
    """The provider ``TRACER_<KIND>_PROVIDER`` selects: the sim world, a replay of the raw zone, or a
    real client (its keys checked first)."""
    choice = getattr(settings.providers, f"{kind}_provider")
    if choice == "sim":
        return _sim(settings, universe)
    module, name = _CLASSES[(kind, choice)].split(":")
    provider_cls = getattr(importlib.import_module(f"tracer_assets.providers.{module}"), name)
    if choice == "replay":
        return provider_cls(settings, lake_root)
    if kind == "bars" and universe is None:
        universe = _universe_or_none(settings)  # crypto-only universes need no Alpaca keys for bars
    _require(kind, settings, universe)
    return _live(provider_cls, settings, lake_root)


def build_bars_provider(settings: TracerSettings, lake_root: str | Path, universe: Universe | None = None):
    """The ``BarsProvider`` that ``TRACER_BARS_PROVIDER`` selects."""
    return _build("bars", settings, lake_root, universe)


def build_news_provider(settings: TracerSettings, lake_root: str | Path, universe: Universe | None = None):
    """The ``NewsProvider`` that ``TRACER_NEWS_PROVIDER`` selects."""
    return _build("news", settings, lake_root, universe)


def build_markets_provider(settings: TracerSettings, lake_root: str | Path, universe: Universe | None = None):
    """The ``MarketsProvider`` that ``TRACER_MARKETS_PROVIDER`` selects."""
    return _build("markets", settings, lake_root, universe)


def build_notifier(settings: TracerSettings, lake_root: str | Path | None = None):
    """The ``Notifier`` that ``TRACER_NOTIFIER`` selects (the file outbox by default)."""
    if settings.providers.notifier == "outbox":
        from tracer_assets.providers.outbox import OutboxNotifier

        return OutboxNotifier(settings, lake_root)
    _require("notifier", settings, None)
    from tracer_assets.providers.telegram import TelegramNotifier

    return _live(TelegramNotifier, settings, lake_root or settings.lake.lake_root)
