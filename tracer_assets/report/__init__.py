"""``tracer report``: one self-contained HTML page over the lake (no Dagster). See ``build.py``."""
