-- Tracer's closed backtest trades by cohort: one row per (dimension, cohort) for asset class,
-- direction, strength bucket and entry month, with the trades' PnL, count, hit rate and the Sharpe
-- of per-trade returns (mean / sample stddev of return_pct; not annualised, NULL under 2 trades).
WITH trades AS (
    SELECT
        asset_class,
        direction,
        CASE
            WHEN strength < 0.25 THEN 'a:<0.25'
            WHEN strength < 0.5 THEN 'b:0.25-0.5'
            WHEN strength < 0.75 THEN 'c:0.5-0.75'
            ELSE 'd:>=0.75'
        END AS strength_bucket,
        strftime(entry_ts, '%Y-%m') AS month,
        pnl,
        return_pct,
        fees + slippage AS costs,
        entry_ts,
        exit_ts
    FROM backtest_trades
    WHERE strategy = 'tracer' AND NOT is_open
),
long_form AS (
    SELECT 'asset_class' AS dimension, asset_class AS cohort, * FROM trades
    UNION ALL
    SELECT 'direction', direction, * FROM trades
    UNION ALL
    SELECT 'strength_bucket', strength_bucket, * FROM trades
    UNION ALL
    SELECT 'month', month, * FROM trades
    UNION ALL
    SELECT 'all', 'all', * FROM trades
)
SELECT
    dimension,
    cohort,
    count(*) AS n_trades,
    sum(pnl) AS pnl,
    sum(costs) AS costs,
    avg(CASE WHEN pnl > 0 THEN 1.0 ELSE 0.0 END) AS hit_rate,
    avg(return_pct) AS avg_return_pct,
    CASE WHEN count(*) > 1 AND stddev_samp(return_pct) > 0
        THEN avg(return_pct) / stddev_samp(return_pct) END AS trade_sharpe,
    min(entry_ts) AS event_ts,
    max(exit_ts) AS available_ts
FROM long_form
GROUP BY dimension, cohort
ORDER BY dimension, cohort
