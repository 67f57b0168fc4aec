"""Tracer: a news-and-price signal agent for crypto and US stocks, as a Dagster asset DAG."""

__version__ = "0.1.0"
