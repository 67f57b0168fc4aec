-- Win rate, mean predicted probability and Brier per cohort across all resolved predictions.
SELECT
    kind,
    cohort,
    count(*) AS n,
    avg(outcome) AS win_rate,
    avg(predicted_prob) AS mean_predicted,
    avg((predicted_prob - outcome) * (predicted_prob - outcome)) AS brier,
    min(event_ts) AS event_ts,
    max(available_ts) AS available_ts
FROM eval_observations
GROUP BY kind, cohort
ORDER BY kind, cohort
