"""Automation definitions: the jobs, the hourly and weekly schedules and the news sensor."""

import dagster as dg

from tracer_assets.defs.automation.schedules import JOBS, SCHEDULES, SENSORS

defs = dg.Definitions(jobs=JOBS, schedules=SCHEDULES, sensors=SENSORS)
