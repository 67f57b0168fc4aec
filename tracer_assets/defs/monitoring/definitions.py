"""Monitoring domain: blocking checks on what each run wrote, the digest self-check, the nightly and
monthly self-check runs, and failure alerts."""

import dagster as dg

from tracer_assets.defs.monitoring.assets import lake_audit, lake_audit_clean
from tracer_assets.defs.monitoring.automation import JOBS, SCHEDULES, SENSORS

defs = dg.Definitions(
    assets=[lake_audit],
    asset_checks=[lake_audit_clean],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
)
