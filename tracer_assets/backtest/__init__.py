"""Backtests: turning signals or target positions into fills, costs, trades and equity (no Dagster)."""
