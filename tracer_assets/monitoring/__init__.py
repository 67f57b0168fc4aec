"""Monitoring domain: self-checks of what a run wrote (plain pandas; the Dagster checks call these)."""
