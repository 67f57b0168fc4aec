"""Partitionings: daily (UTC) for the agent's tables, weekly (Monday keys) for evaluation."""

import dagster as dg

from tracer_assets.settings import PartitionsStartAtLoad

# TRACER_PARTITIONS_START, read once here and alone: the partitions are part of the code location's shape
# (a bad value fails the load, naming the variable; no other setting is read at import).
# end_offset=1: today's (and this week's) partition exists, so the hourly tick can refresh it.
PARTITIONS_START = PartitionsStartAtLoad().partitions_start
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=PARTITIONS_START, day_offset=1, end_offset=1)
single_run = dg.BackfillPolicy.single_run()

# Asset keyword sets: partitioning, single-run backfills, and a cadence tag the jobs select on.
CADENCE_TAG = "tracer/cadence"
DAILY = {"partitions_def": daily_partitions, "backfill_policy": single_run, "tags": {CADENCE_TAG: "daily"}}
WEEKLY = {"partitions_def": weekly_partitions, "backfill_policy": single_run, "tags": {CADENCE_TAG: "weekly"}}
