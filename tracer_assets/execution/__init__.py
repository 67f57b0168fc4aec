"""Paper and live execution: ledger, risk engine, brokers (issue 15). No Dagster import here."""
