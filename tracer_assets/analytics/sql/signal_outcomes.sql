-- Every signal beside its resolved outcome (NULL until the horizon has passed).
SELECT
    s.signal_id,
    s.symbol,
    s.asset_class,
    s.decision_ts,
    s.direction,
    s.strength,
    s.internal_prob,
    s.horizon_hours,
    o.resolved_ts,
    o.outcome,
    s.event_ts,
    coalesce(o.available_ts, s.available_ts) AS available_ts
FROM signals AS s
LEFT JOIN eval_observations AS o
    ON o.kind = 'signal' AND o.question_id = s.signal_id
ORDER BY s.decision_ts, s.symbol
