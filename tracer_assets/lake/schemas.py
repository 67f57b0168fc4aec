"""The lake contract: every table's required columns and their Arrow types.

Analysts and later issues rely on these names; more columns are welcome, these stay.
Every table carries ``event_ts`` (when it happened) and ``available_ts`` (when Tracer could know it).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

_PIT = [("event_ts", TS), ("available_ts", TS)]
_TYPES = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": TS,
}


def _columns(spec: str) -> list[tuple[str, pa.DataType]]:
    """A table's columns from ``"name: type, name: type, ..."`` (types: string, float64, int64, bool,
    timestamp), in order; ``event_ts`` and ``available_ts`` close the list unless the spec places them."""
    columns = []
    for pair in spec.split(","):
        name, sep, type_name = (part.strip() for part in pair.partition(":"))
        if not sep or not name or type_name not in _TYPES:
            raise ValueError(
                f"bad column spec {pair.strip()!r}: want 'name: type', type one of {sorted(_TYPES)}"
            )
        columns.append((name, _TYPES[type_name]))
    names = [name for name, _ in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"column spec names a column twice: {spec!r}")
    return columns if "event_ts" in names else [*columns, *_PIT]


CONTRACT: dict[str, list[tuple[str, pa.DataType]]] = {
    "bars": _columns(
        "symbol: string, asset_class: string, ts: timestamp, open: float64, high: float64, low: float64, "
        "close: float64, volume: float64, event_ts: timestamp, available_ts: timestamp, source: string"
    ),
    "narratives": _columns(
        "narrative_id: string, symbol: string, headline: string, summary: string, source: string, url: string"
    ),
    "narrative_scores": _columns(
        "narrative_id: string, symbol: string, model: string, polarity: float64, confidence: float64, "
        "label: string"
    ),
    "price_features": _columns(
        "symbol: string, asset_class: string, ts: timestamp, close: float64, ret_1h: float64, "
        "realized_vol: float64, volume_z: float64"
    ),
    "signals": _columns(
        "signal_id: string, symbol: string, asset_class: string, decision_ts: timestamp, direction: string, "
        "strength: float64, internal_prob: float64, horizon_hours: int64, rationale: string"
    ),
    "digest": _columns(
        "digest_id: string, rank: int64, signal_id: string, symbol: string, direction: string, "
        "strength: float64, internal_prob: float64, text: string"
    ),
    "polymarket_markets": _columns(
        "market_id: string, question: string, symbol: string, yes_price: float64, end_ts: timestamp, "
        "closed: bool, resolved_outcome: float64"
    ),
    "eval_observations": _columns(
        "kind: string, observation_id: string, cohort: string, decision_ts: timestamp, "
        "resolved_ts: timestamp, predicted_prob: float64, outcome: int64"
    ),
    "eval_metrics": _columns(
        "week: string, kind: string, cohort: string, n: int64, brier: float64, log_loss: float64, "
        "hit_rate: float64"
    ),
    # Issue 3: rows that failed validation (written by the fetching assets, one part file each).
    "quarantine": _columns(
        "quarantine_id: string, table: string, reason: string, payload: string, provider: string, "
        "raw_ref: string"
    ),
    # Issue 3: one row per fetching asset, partition and provider: was the input whole, and if not why.
    "run_health": _columns(
        "health_id: string, run_id: string, asset: string, partition: string, provider: string, "
        "degraded: bool, reason: string"
    ),
    # --- evaluation (issue 6) ----------------------------------------------------------------
    "calibration_bins": _columns(
        "week: string, kind: string, predictor: string, strategy: string, bin: int64, bin_lo: float64, "
        "bin_hi: float64, count: int64, mean_predicted: float64, observed_freq: float64"
    ),
    "eval_metrics_all_time": _columns(
        "week: string, through_week: string, kind: string, predictor: string, cohort_dim: string, "
        "cohort: string, n: int64, brier: float64, log_loss: float64, hit_rate: float64, "
        "bss_vs_market: float64"
    ),
    "eval_win_rates": _columns(
        "week: string, kind: string, predictor: string, cohort_dim: string, cohort: string, n: int64, "
        "wins: int64, win_rate: float64, win_rate_lo: float64, win_rate_hi: float64"
    ),
    "placebo_results": _columns(
        "kind: string, seed: int64, draw: int64, hit_rate: float64, sharpe: float64, n_signals: int64"
    ),
    "placebo_summary": _columns(
        "kind: string, draws: int64, hit_rate_p95: float64, real_hit_rate: float64, "
        "hit_rate_p_value: float64, sharpe_p95: float64, real_sharpe: float64, sharpe_p_value: float64"
    ),
    "leak_check_samples": _columns("sample_ts: timestamp"),
    "hit_rate_trend": _columns(
        "as_of: timestamp, kind: string, predictor: string, window_n: int64, window_hit_rate: float64, "
        "baseline_n: int64, baseline_hit_rate: float64, drop: float64"
    ),
    "backtest_trades": _columns(
        "trade_id: string, strategy: string, signal_id: string, symbol: string, asset_class: string, "
        "direction: string, strength: float64, size: float64, decision_ts: timestamp, entry_ts: timestamp, "
        "exit_ts: timestamp, entry_price: float64, exit_price: float64, units: float64, fees: float64, "
        "slippage: float64, pnl: float64, return_pct: float64, is_open: bool"
    ),
    "backtest_equity": _columns(
        "strategy: string, scope: string, symbol: string, asset_class: string, ts: timestamp, "
        "equity: float64, pnl: float64, position_value: float64, exposure: float64"
    ),
    "backtest_summary": _columns(
        "range_start: timestamp, range_end: timestamp, strategy: string, draw: int64, n_trades: int64, "
        "total_return: float64, annual_return: float64, annual_volatility: float64, sharpe: float64, "
        "sortino: float64, max_drawdown: float64, calmar: float64, turnover: float64, exposure: float64, "
        "hit_rate: float64, avg_win: float64, avg_loss: float64, profit_factor: float64, costs_paid: float64, "
        "placebo_sharpe_percentile: float64"
    ),
    # --- execution ledger (issue 15) -------------------------------------------------------------
    "orders": _columns(
        "order_id: string, client_order_id: string, signal_id: string, symbol: string, side: string, "
        "qty: float64, notional: float64, type: string, status: string, broker: string, "
        "submitted_ts: timestamp"
    ),
    "fills": _columns("order_id: string, symbol: string, qty: float64, price: float64, fee: float64"),
    "positions": _columns(
        "ts: timestamp, symbol: string, qty: float64, avg_price: float64, market_value: float64"
    ),
    "portfolio": _columns(
        "ts: timestamp, equity: float64, cash: float64, gross_exposure: float64, net_exposure: float64, "
        "daily_pnl: float64, drawdown: float64, kill_switch: bool"
    ),
    "risk_events": _columns(
        "ts: timestamp, rule: string, symbol: string, signal_id: string, action: string, detail: string"
    ),
    # the paper broker's book at the end of each day (JSON), read by the next day's run
    "execution_state": _columns("day: string, broker: string, state_json: string"),
    # who tripped or cleared the kill switch, when and why (unpartitioned, appended)
    "trading_controls": _columns(
        "control_id: string, ts: timestamp, action: string, who: string, why: string"
    ),
    # Issue 13: the nightly self-check's verdict per audited day and table.
    "lake_audit": _columns(
        "audit_id: string, audit_day: string, table_name: string, rows: int64, passed: bool, problems: string"
    ),
    "walk_forward_folds": _columns(
        "fold_id: string, is_start: timestamp, is_end: timestamp, oos_start: timestamp, oos_end: timestamp, "
        "params: string, is_objective: float64, is_deflated_sharpe_prob: float64, oos_objective: float64, "
        "n_configs_tried: int64, n_oos_trades: int64"
    ),
    "walk_forward_summary": _columns(
        "run_id: string, oos_start: timestamp, oos_end: timestamp, oos_sharpe: float64, "
        "oos_sharpe_lo: float64, oos_sharpe_hi: float64, deflated_sharpe_prob: float64, "
        "deflated_sharpe_prob_raw: float64, n_effective_trials: int64, pbo: float64, "
        "oos_hit_rate: float64, n_oos_trades: int64, n_configs_tried: int64"
    ),
    "governed_params": _columns(
        "version: string, params: string, action: string, source: string, actor: string, reason: string"
    ),
    "governance_report": _columns(
        "month: string, report_path: string, params_version: string, package_version: string, "
        "git_commit: string, settings_hash: string, inputs_hash: string"
    ),
}


# tables written by on-demand research assets (research_job) and by the monthly walk-forward and
# governance assets (a fold needs months of in-sample data), not by a daily replay
ON_DEMAND_TABLES = frozenset(
    {
        "placebo_results",
        "placebo_summary",
        "leak_check_samples",
        "walk_forward_folds",
        "walk_forward_summary",
        "governed_params",
        "governance_report",
    }
)


def contract_columns(table: str) -> list[str]:
    return [name for name, _ in CONTRACT.get(table, [])]


# --- documentation -----------------------------------------------------------------------------
# Tables the pipeline writes without a write contract (derived, not validated on write): their
# documented columns and types, so the UI can describe them like contract tables.
DOCUMENTED_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "narrative_pressure": _columns(
        "symbol: string, decision_ts: timestamp, pressure: float64, n_narratives: int64, "
        "last_narrative_available_ts: timestamp, narrative_ids: string"
    ),
    "cohort_win_rates": _columns(
        "kind: string, cohort: string, n: int64, win_rate: float64, mean_predicted: float64, brier: float64"
    ),
    "signal_outcomes": _columns(
        "signal_id: string, symbol: string, asset_class: string, decision_ts: timestamp, direction: string, "
        "strength: float64, internal_prob: float64, horizon_hours: int64, resolved_ts: timestamp, "
        "outcome: int64"
    ),
    "calibration_report": _columns(
        "section: string, week: string, kind: string, predictor: string, grouping: string, label: string, "
        "bin: int64, n: int64, mean_predicted: float64, observed: float64, gap: float64, brier: float64, "
        "log_loss: float64, hit_rate: float64, hit_rate_lo: float64, hit_rate_hi: float64, "
        "reliability: float64, resolution: float64, bss_vs_market: float64"
    ),
    "backtest_cohorts": _columns(
        "dimension: string, cohort: string, n_trades: int64, pnl: float64, costs: float64, hit_rate: float64, "
        "avg_return_pct: float64, trade_sharpe: float64"
    ),
}

# A column name means the same thing in every table unless TABLE_COLUMN_DOCS says otherwise.
SHARED_COLUMN_DOCS: dict[str, str] = {
    "event_ts": "When the thing the row describes happened (UTC).",
    "available_ts": "When Tracer could first have known this row (UTC); point-in-time reads filter on it.",
    "symbol": "Ticker or crypto pair, as in the universe YAML (e.g. BTC/USD, AAPL).",
    "asset_class": "crypto or us_equity.",
    "ts": "Bar open time (UTC, hourly).",
    "close": "Closing price of the hourly bar.",
    "source": "Provider that supplied the row (sim, alpaca, perplexity, polymarket, replay).",
    "narrative_id": "Content-derived id of the narrative (news story).",
    "signal_id": "Content-derived id of the signal.",
    "decision_ts": "Hour at which the decision was taken (UTC); only data available by then is used.",
    "direction": "long or short.",
    "strength": "Signal strength in [0, 1]: how far news and price diverge, after confirmations.",
    "internal_prob": "Tracer's own probability that the call (or the market's yes) comes true.",
    "kind": "What was predicted: signal, market or market_neg_risk.",
    "cohort": "Cohort value within the cohort dimension (e.g. a symbol, a strength bucket, or all).",
    "cohort_dim": "Cohort dimension the row groups by (all, symbol, asset_class, ...).",
    "week": "Evaluation week (Monday key, YYYY-MM-DD).",
    "predictor": "Whose probability is scored: internal (Tracer) or market (the market price).",
    "n": "Number of resolved predictions in the group.",
    "brier": "Brier score: mean squared error of the probability (lower is better).",
    "log_loss": "Mean log loss of the probability (lower is better).",
    "hit_rate": "Share of predictions on the right side of 0.5.",
    "win_rate": "Share of predictions whose outcome was 1.",
    "mean_predicted": "Mean predicted probability of the group.",
    "bss_vs_market": "Brier skill score against the market on paired questions (positive: better than market).",
    "reason": "Why, in words.",
    "provider": "Provider name the row concerns.",
    "horizon_hours": "Hours after the decision at which the call is resolved.",
    "outcome": "1 if the prediction came true, 0 if not (NULL until resolved).",
    "resolved_ts": "When the outcome became known (UTC).",
    "hit_rate_lo": "Lower end of the 95% Wilson interval of the hit rate.",
    "hit_rate_hi": "Upper end of the 95% Wilson interval of the hit rate.",
    "reliability": "Reliability term of the Brier decomposition (calibration error, lower is better).",
    "resolution": "Resolution term of the Brier decomposition (higher is better).",
    "bin": "Calibration bin number (0 = lowest probabilities).",
}

TABLE_COLUMN_DOCS: dict[str, dict[str, str]] = {
    "walk_forward_folds": {
        "fold_id": "The fold: its out-of-sample month (YYYY-MM).",
        "is_start": "First instant of the in-sample window (UTC).",
        "is_end": "End of the in-sample window (exclusive, UTC), an embargo before the out-of-sample start.",
        "oos_start": "First instant of the out-of-sample month (UTC).",
        "oos_end": "End of the out-of-sample month (exclusive, UTC).",
        "params": "JSON of the grid point chosen in sample and frozen for the month (setting -> value); "
        'with "stand_aside": true when the fold stands aside (its winner below walkforward_adopt_min_dsr, '
        "or no point reached walkforward_min_trades): the month trades nothing.",
        "is_objective": "The chosen point's in-sample objective: annualised Sharpe net of costs of its purged "
        "in-sample signals (NaN when no point reached walkforward_min_trades).",
        "is_deflated_sharpe_prob": "The winner's in-sample Deflated Sharpe probability, trials the "
        "clusters of the eligible points' in-sample return series (NaN when no point was eligible); below "
        "walkforward_adopt_min_dsr the fold stands aside.",
        "oos_objective": "The same objective of the frozen point on the out-of-sample month (0 for a month "
        "that traded nothing).",
        "n_configs_tried": "Grid points evaluated in sample for this fold.",
        "n_oos_trades": "Trades the frozen point made in the out-of-sample month.",
        "event_ts": "The out-of-sample month's end.",
        "available_ts": "When the fold's figures were known: the out-of-sample month's end.",
    },
    "walk_forward_summary": {
        "run_id": "The Dagster run (or CLI run) that stitched the folds.",
        "oos_start": "First out-of-sample instant of the stitched folds (UTC).",
        "oos_end": "End of the last out-of-sample month (exclusive, UTC).",
        "oos_sharpe": "Annualised Sharpe (net of costs) of the stitched out-of-sample daily returns.",
        "oos_sharpe_lo": "Lower end of its 95% interval (block bootstrap by day, walkforward_block_days).",
        "oos_sharpe_hi": "Upper end of its 95% interval.",
        "deflated_sharpe_prob": "Deflated Sharpe Ratio (Bailey and Lopez de Prado): probability that the "
        "true Sharpe is above the best of n_effective_trials unskilled trials, given skew and kurtosis; the "
        "trials' Sharpe variance is that of the clusters' Sharpes.",
        "deflated_sharpe_prob_raw": "The same DSR counting every grid point as a trial (n_configs_tried, "
        "variance of all the points' Sharpes): conservative, since neighbouring points trade alike.",
        "n_effective_trials": "Clusters of the grid points' out-of-sample return series (correlation "
        "distance, average linkage, cut at the best silhouette quality): the trials deflated_sharpe_prob counts.",
        "pbo": "Probability of Backtest Overfitting by combinatorially symmetric cross-validation: share "
        "of splits where the in-sample best ranks below the median out of sample.",
        "oos_hit_rate": "Share of closed out-of-sample trades with a positive PnL.",
        "n_oos_trades": "Out-of-sample trades over all folds.",
        "n_configs_tried": "Grid points tried per fold (the trials deflated_sharpe_prob_raw counts).",
        "event_ts": "The last out-of-sample instant.",
        "available_ts": "When the summary was known: the last fold's end.",
    },
    "governed_params": {
        "version": "Content hash of the parameter set (the same params give the same version).",
        "params": "JSON of the parameters in force (setting -> value); the rest keep their defaults. "
        '"stand_aside": true: no signal is emitted while it is in force (held back as stand_aside).',
        "action": "adopt (a walk-forward fold's choice) or rollback (tracer params rollback).",
        "source": "Where the row came from: the fold and run, or the version rolled back to.",
        "actor": "Who: walkforward, or the person named on the rollback.",
        "reason": "Why: the fold's in-sample evidence, or the reason given on the rollback.",
        "event_ts": "From when the version is in force (UTC).",
        "available_ts": "Same as event_ts: signals decided at or after it use this version.",
    },
    "governance_report": {
        "month": "The month the report covers (YYYY-MM).",
        "report_path": "The HTML report (with its plots) under <lake>/artifacts/governance/.",
        "params_version": "The governed version in force at the month's end (empty: the defaults).",
        "package_version": "tracer-assets version that produced the report.",
        "git_commit": "Git commit of the code when known (empty outside a checkout).",
        "settings_hash": "Hash of the settings (secrets excluded) the report was produced with.",
        "inputs_hash": "Hash of the content hashes of the input partitions the report read.",
        "event_ts": "The month's start.",
        "available_ts": "The month's end (the report covers the whole month).",
    },
    "bars": {
        "open": "Opening price of the hourly bar.",
        "high": "Highest price in the hour.",
        "low": "Lowest price in the hour.",
        "volume": "Traded volume in the hour (units of the asset).",
    },
    "narratives": {
        "headline": "Headline of the story.",
        "summary": "Short summary of the story.",
        "url": "Link to the story (sim:// for the sim world).",
    },
    "narrative_scores": {
        "model": "Polarity model that scored the narrative (lexicon or a transformers model id).",
        "polarity": "Polarity in [-1, 1]: negative to positive for the symbol.",
        "confidence": "Model confidence in [0, 1].",
        "label": "positive, negative or neutral.",
    },
    "price_features": {
        "ret_1h": "Log return over the hour.",
        "realized_vol": "Realized volatility of hourly returns over the trailing window.",
        "volume_z": "Volume z-score against the trailing window.",
    },
    "signals": {
        "rationale": "Why the signal fired, in plain words.",
    },
    "digest": {
        "digest_id": "Content-derived id of the digest.",
        "rank": "Rank of the item in the digest (1 = top).",
        "text": "Item text (Telegram HTML); the section 'digest' row holds the whole message.",
    },
    "polymarket_markets": {
        "market_id": "Prediction market id.",
        "question": "The market's question.",
        "yes_price": "Market price of yes, read as the market's probability.",
        "end_ts": "When the market closes (UTC).",
        "closed": "Whether the market had closed at the snapshot.",
        "resolved_outcome": "1 if it resolved yes, 0 if no, NULL while open.",
    },
    "eval_observations": {
        "observation_id": "Content-derived id of the scored prediction.",
        "predicted_prob": "Probability given at decision time.",
    },
    "quarantine": {
        "quarantine_id": "Content-derived id of the quarantined row.",
        "table": "Lake table the row was meant for.",
        "reason": "Why the row failed validation.",
        "payload": "The rejected row as JSON (truncated).",
        "raw_ref": "Where the raw response is kept (raw zone path), if anywhere.",
    },
    "run_health": {
        "health_id": "Content-derived id of the health row.",
        "run_id": "Dagster run id that fetched the data.",
        "asset": "Fetching asset.",
        "partition": "Partition key (day) fetched.",
        "degraded": "True when the input was incomplete (outage, breaker open, partial data).",
        "reason": "Why the run was degraded ('' when whole).",
    },
    "calibration_bins": {
        "strategy": "Binning strategy: uniform or quantile.",
        "bin_lo": "Lower edge of the bin's probability range.",
        "bin_hi": "Upper edge of the bin's probability range.",
        "count": "Predictions in the bin.",
        "observed_freq": "Observed frequency of outcome 1 in the bin.",
    },
    "eval_metrics_all_time": {
        "through_week": "Last week included in the cumulative scores.",
    },
    "eval_win_rates": {
        "wins": "Predictions whose outcome was 1.",
        "win_rate_lo": "Lower end of the 95% Wilson interval of the win rate.",
        "win_rate_hi": "Upper end of the 95% Wilson interval of the win rate.",
    },
    "hit_rate_trend": {
        "as_of": "Time the trend was measured (UTC).",
        "window_n": "Resolved predictions in the recent window.",
        "window_hit_rate": "Hit rate in the recent window.",
        "baseline_n": "Resolved predictions in the baseline window.",
        "baseline_hit_rate": "Hit rate in the baseline window.",
        "drop": "baseline_hit_rate - window_hit_rate (positive: getting worse).",
    },
    "narrative_pressure": {
        "pressure": "Decayed sum of polarity x confidence x novelty over narratives available by decision_ts.",
        "n_narratives": "Narratives counted in the pressure (syndicated copies once).",
        "last_narrative_available_ts": "When the newest counted narrative became available (UTC).",
        "narrative_ids": "Ids of the counted narratives, comma-separated.",
    },
    "calibration_report": {
        "section": "bin (a calibration bin) or cohort (a weekly cohort score).",
        "grouping": "Binning strategy (bin rows) or cohort dimension (cohort rows).",
        "label": "Bin probability range (bin rows) or cohort value (cohort rows).",
        "n": "Predictions in the bin or cohort.",
        "observed": "Observed frequency (bins) or win rate (cohorts).",
        "gap": "observed - mean_predicted (positive: the predictor was too timid).",
    },
    "backtest_cohorts": {
        "dimension": "What the row groups Tracer's closed trades by: asset_class, direction, strength_bucket, "
        "month (of entry) or all.",
        "cohort": "Value within the dimension (e.g. crypto, long, 'b:0.25-0.5', 2024-03, all).",
        "n_trades": "Closed Tracer trades in the cohort.",
        "pnl": "Sum of the trades' PnL after fees and slippage (USD).",
        "costs": "Sum of the trades' fees plus slippage (USD).",
        "hit_rate": "Share of the trades with positive PnL.",
        "avg_return_pct": "Mean per-trade return, percent of entry notional.",
        "trade_sharpe": "Mean / sample stddev of per-trade return_pct (not annualised; NULL under 2 trades).",
        "event_ts": "Earliest entry of the cohort's trades (UTC).",
        "available_ts": "Latest exit of the cohort's trades (UTC).",
    },
    # --- backtest ----------------------------------------------------------------------------------
    "backtest_trades": {
        "trade_id": "Content-derived id of the trade (strategy, symbol, entry time, units).",
        "strategy": "tracer, buy_and_hold, or price_only (price_only_<n> for the n-th extra draw).",
        "signal_id": "Signal that opened the trade; NULL for buy_and_hold.",
        "strength": "Opening signal's strength in [0, 1]; NULL for buy_and_hold.",
        "size": "Opening signal's target position, fraction of equity; NULL for buy_and_hold.",
        "decision_ts": "Decision time of the opening signal (UTC; the entry time for buy_and_hold); "
        "the table is partitioned by its day.",
        "direction": "long (units > 0) or short.",
        "entry_ts": "Entry fill time (UTC): the open of the symbol's first bar opening at or after the "
        "decision, or the signal bar's close with close fills.",
        "exit_ts": "Exit fill time (UTC); for an open trade the range's last instant (marked at the last close).",
        "entry_price": "Entry fill price, slippage included.",
        "exit_price": "Exit fill price, slippage included; for an open trade the last close (a mark).",
        "units": "Units held, signed (positive long, negative short).",
        "fees": "Fees paid on entry and exit (entry only while open), USD.",
        "slippage": "Slippage cost: |units| x |fill - reference price| at entry and exit, USD "
        "(already inside the prices and PnL).",
        "pnl": "PnL after fees and slippage, USD; an open trade is marked at the last close.",
        "return_pct": "pnl / entry notional (|units| x entry_price), in percent.",
        "is_open": "True when the trade was still open at the range's end (marked, not closed).",
        "event_ts": "Entry fill time (= entry_ts).",
        "available_ts": "Exit fill time (= exit_ts), when the trade's result is known.",
    },
    "backtest_equity": {
        "strategy": "tracer, buy_and_hold, price_only (price_only_<n> for extra draws) or placebo_median "
        "(median end-of-day equity over the random-timing placebo draws).",
        "scope": "portfolio (the whole account) or symbol (one symbol of Tracer's book).",
        "symbol": "The symbol (scope symbol) or ALL (scope portfolio).",
        "asset_class": "crypto or us_equity (scope symbol); all for portfolio rows.",
        "ts": "Instant of the range (UTC: every hour, bar open and close, decision), values after that "
        "instant's fills, marked at the last closes. placebo_median: the UTC day, value at its end.",
        "equity": "Account equity (cash + open PnL), USD; NULL on symbol rows.",
        "pnl": "Portfolio: equity - initial cash; symbol: its realised + open PnL net of fees since the "
        "range start (USD).",
        "position_value": "Signed units x close, USD (portfolio: summed over symbols; NULL for "
        "placebo_median).",
        "exposure": "Gross position value / portfolio equity (NULL for placebo_median).",
        "event_ts": "= ts.",
        "available_ts": "= ts (the marks are known then); the day itself for placebo_median.",
    },
    "backtest_summary": {
        "range_start": "First instant of the backtested range (UTC).",
        "range_end": "End of the range (UTC, exclusive).",
        "strategy": "tracer, buy_and_hold, price_only (one row per draw) or placebo (median over the "
        "random-timing draws).",
        "draw": "Draw number of a price_only row; 0 otherwise.",
        "n_trades": "Trades in the range, still-open ones included (placebo: median).",
        "total_return": "Last end-of-day equity / initial cash - 1 (fraction).",
        "annual_return": "Annualised (compound) return of daily equity returns.",
        "annual_volatility": "Annualised standard deviation of daily equity returns.",
        "sharpe": "Annualised Sharpe ratio of daily equity returns (risk-free 0).",
        "sortino": "Annualised Sortino ratio of daily equity returns.",
        "max_drawdown": "Deepest peak-to-trough fall of daily equity (fraction, negative).",
        "calmar": "annual_return / |max_drawdown|.",
        "turnover": "Traded notional (entries plus closed exits) / mean daily equity.",
        "exposure": "Mean over bars of gross position value / equity.",
        "hit_rate": "Share of closed trades with positive PnL.",
        "avg_win": "Mean PnL of winning closed trades, USD.",
        "avg_loss": "Mean PnL of losing closed trades, USD (negative).",
        "profit_factor": "Gross profit / gross loss of closed trades (NULL without a loss).",
        "costs_paid": "Fees plus slippage paid, USD.",
        "placebo_sharpe_percentile": "tracer row: percentile (0-100) of Tracer's Sharpe among the placebo "
        "draws' Sharpes; NULL on other rows.",
        "event_ts": "= range_start.",
        "available_ts": "= range_end (the summary needs the whole range).",
    },
    # --- execution ledger ----------------------------------------------------------------------------
    "orders": {
        "order_id": "Paper: content-derived id (broker, client_order_id); broker: the broker's order id "
        "('' when never accepted).",
        "client_order_id": "Deterministic id per signal and leg (tr-<hash>-<leg>): a retry reuses it, so the "
        "broker refuses a duplicate.",
        "signal_id": "Signal the order acts on ('' for drift trims).",
        "side": "buy or sell.",
        "qty": "Units ordered, unsigned (exits); NULL when ordered by notional.",
        "notional": "Notional ordered in USD, unsigned (entries, trims); NULL when ordered by qty.",
        "type": "Order type: market.",
        "status": "Paper: submitted, filled, canceled or blocked; broker: its status (e.g. new, accepted, "
        "filled), rejected or unsent.",
        "broker": "paper_sim (internal paper broker), alpaca_paper or alpaca_live.",
        "submitted_ts": "When the order was decided and sent (UTC): the bar close (paper) or routing pass.",
    },
    "fills": {
        "order_id": "Order filled (orders.order_id).",
        "qty": "Units filled, signed (positive buy, negative sell).",
        "price": "Fill price: paper, the fill bar's open moved against the trader by the cost model; broker, "
        "its average fill price.",
        "fee": "Fee in USD (paper: fee bps of the filled notional; 0 for broker fills).",
        "event_ts": "Fill time (UTC): the fill bar's open (paper) or the routing pass that saw it (broker).",
    },
    "positions": {
        "ts": "Time the book was marked (UTC): each hour after its fills (paper) or a routing pass (broker).",
        "qty": "Units held, signed (negative short).",
        "avg_price": "Average entry price of the units held.",
        "market_value": "Signed value in USD: qty x the latest close (paper) or as the broker reports it.",
    },
    "portfolio": {
        "ts": "Time the book was marked (UTC): each hour after its fills (paper) or a routing pass (broker).",
        "equity": "Cash + market value of the holdings, USD.",
        "cash": "Cash balance in USD (a short's proceeds included; fees deducted).",
        "gross_exposure": "Sum of |market value| of the holdings, USD.",
        "net_exposure": "Sum of signed market values of the holdings, USD.",
        "daily_pnl": "equity - equity at the UTC day's first mark, USD (NULL for broker snapshots).",
        "drawdown": "Equity / running peak equity - 1 (0 or negative; NULL for broker snapshots).",
        "kill_switch": "True when the kill switch was on at ts (no order sent).",
    },
    "risk_events": {
        "ts": "When the decision was taken (UTC): the decision hour (paper) or the routing pass (broker).",
        "symbol": "Symbol the decision concerns ('' for book-wide halts).",
        "signal_id": "Signal the decision concerns ('' when none).",
        "rule": "Check that fired: position/class/gross/net_cap (and *_drift), price_gap, volume_spike, "
        "daily_loss, order_rate, max_open_positions, invalid_order, kill_switch, max_drawdown, data_staleness, "
        "reconciliation, signal_age, live_* or broker_*.",
        "action": "blocked (order not sent), reduced (cut to fit a cap, or a drift trim) or halted "
        "(kill switch tripped, nothing sent).",
        "detail": "What was measured against which limit, in words.",
    },
    "execution_state": {
        "day": "UTC day (YYYY-MM-DD) at whose end the book was saved.",
        "broker": "paper_sim (only the internal paper broker keeps a state).",
        "state_json": "The paper book as JSON: cash, quantities, average prices, last closes, open legs, "
        "pending orders, peak and day-start equity; the next day's run starts from it.",
        "event_ts": "Last microsecond of day (UTC).",
        "available_ts": "= event_ts.",
    },
    "trading_controls": {
        "control_id": "Content-derived id of the control (action, who, ts).",
        "ts": "When the kill switch was tripped or cleared (UTC); it holds until the next row.",
        "action": "kill or resume.",
        "who": "risk_engine (automatic trips) or the person (tracer kill-trading / resume-trading --who, "
        "default the OS user).",
        "why": "Reason given (the risk engine's: rule and measurement).",
    },
    # --- monitoring ----------------------------------------------------------------------------------
    "lake_audit": {
        "audit_id": "Content-derived id of the audit row (day, table).",
        "audit_day": "Partition day audited (YYYY-MM-DD).",
        "table_name": "Lake table whose partition of audit_day was re-read and checked.",
        "rows": "Rows in that partition.",
        "passed": "True when no problem was found.",
        "problems": "Problems found, '; '-separated ('' when passed): schema, PIT order, duplicate keys, "
        "out-of-domain values (and the digest's own checks).",
        "event_ts": "Start of audit_day (UTC).",
        "available_ts": "End of audit_day (UTC).",
    },
    # --- research (on demand) ------------------------------------------------------------------------
    "placebo_results": {
        "kind": "real (the unaltered run) or the placebo: shift_<h>h, swap_symbols, flip_polarity or "
        "circular_shift.",
        "seed": "Seed of the study's random draws.",
        "draw": "Draw number within the kind (0 for real, the shifts and the flip).",
        "hit_rate": "Share of resolved signals whose direction was right (NULL when none resolved).",
        "sharpe": "Annualised (365 days) Sharpe of the horizon-hold strategy's daily returns, no fees.",
        "n_signals": "Signals whose horizon passed within the window.",
        "event_ts": "Day after the window's last day (UTC).",
        "available_ts": "= event_ts.",
    },
    "placebo_summary": {
        "kind": "Placebo kind: shift_<h>h, swap_symbols, flip_polarity or circular_shift.",
        "draws": "Draws of the kind (1 for the shifts and the flip).",
        "hit_rate_p95": "95th percentile of the draws' hit rates (a draw with no signal counts 0.5).",
        "real_hit_rate": "Hit rate of the real run.",
        "hit_rate_p_value": "Empirical p-value (1 + #{placebo >= real}) / (1 + draws) of the hit rate.",
        "sharpe_p95": "95th percentile of the draws' Sharpes (a draw with no signal counts 0).",
        "real_sharpe": "Sharpe of the real run.",
        "sharpe_p_value": "Empirical p-value (1 + #{placebo >= real}) / (1 + draws) of the Sharpe.",
        "event_ts": "Day after the window's last day (UTC).",
        "available_ts": "= event_ts.",
    },
    "leak_check_samples": {
        "sample_ts": "Decision time sampled (seeded) from the latest days' signals, topped up with bar "
        "closes (UTC); the leak check rebuilds everything derived at it.",
        "event_ts": "= sample_ts.",
        "available_ts": "= sample_ts.",
    },
}


def table_columns(table: str) -> list[tuple[str, pa.DataType]]:
    """Contract columns of a lake table, or the documented columns of a derived one."""
    return CONTRACT.get(table) or DOCUMENTED_COLUMNS.get(table, [])


def _docs_for(table: str) -> dict[str, str]:
    specific = TABLE_COLUMN_DOCS.get(table, {})
    return {
        name: specific.get(name) or SHARED_COLUMN_DOCS[name]
        for name, _ in table_columns(table)
        if name in specific or name in SHARED_COLUMN_DOCS
    }


# table -> column -> description, for every contract and documented column
COLUMN_DOCS: dict[str, dict[str, str]] = {t: _docs_for(t) for t in [*CONTRACT, *DOCUMENTED_COLUMNS]}


def undocumented_columns() -> dict[str, list[str]]:
    """Contract or documented columns without a description (should be empty)."""
    missing = {
        t: [name for name, _ in table_columns(t) if not COLUMN_DOCS.get(t, {}).get(name)]
        for t in [*CONTRACT, *DOCUMENTED_COLUMNS]
    }
    return {t: cols for t, cols in missing.items() if cols}
