-- Calibration and cohort scores by week, in one table: section 'bin' rows are calibration bins
-- (grouping = uniform | quantile, label = the bin's probability range), section 'cohort' rows are the
-- weekly cohort scores (grouping = cohort dimension, label = cohort). observed is the observed frequency
-- (bins) or win rate (cohorts); gap = observed - mean_predicted (positive: the predictor was too timid).
WITH bins AS (
    SELECT
        'bin' AS section,
        week,
        kind,
        predictor,
        strategy AS grouping,
        printf('%.2f-%.2f', bin_lo, bin_hi) AS label,
        bin,
        "count" AS n,
        mean_predicted,
        observed_freq AS observed,
        observed_freq - mean_predicted AS gap,
        CAST(NULL AS DOUBLE) AS brier,
        CAST(NULL AS DOUBLE) AS log_loss,
        CAST(NULL AS DOUBLE) AS hit_rate,
        CAST(NULL AS DOUBLE) AS hit_rate_lo,
        CAST(NULL AS DOUBLE) AS hit_rate_hi,
        CAST(NULL AS DOUBLE) AS reliability,
        CAST(NULL AS DOUBLE) AS resolution,
        CAST(NULL AS DOUBLE) AS bss_vs_market,
        event_ts,
        available_ts
    FROM calibration_bins
),
cohorts AS (
    SELECT
        'cohort' AS section,
        week,
        kind,
        predictor,
        cohort_dim AS grouping,
        cohort AS label,
        CAST(NULL AS BIGINT) AS bin,
        n,
        mean_predicted,
        win_rate AS observed,
        win_rate - mean_predicted AS gap,
        brier,
        log_loss,
        hit_rate,
        hit_rate_lo,
        hit_rate_hi,
        reliability,
        resolution,
        bss_vs_market,
        event_ts,
        available_ts
    FROM eval_metrics
    WHERE n > 0
)
SELECT * FROM bins
UNION ALL
SELECT * FROM cohorts
ORDER BY week, kind, predictor, section, grouping, bin, label
