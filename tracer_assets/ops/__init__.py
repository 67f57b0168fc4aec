"""Operating Tracer: the pause switch, status and crash recovery (CLI in ``ops.cli``)."""
