"""Signals: divergence between narrative pressure and price, confirmed, cooled down, sized, calibrated."""

from tracer_assets.signals.pipeline import SIGNAL_COLUMNS, SignalInputs, SignalsResult, compute_signals

__all__ = ["SIGNAL_COLUMNS", "SignalInputs", "SignalsResult", "compute_signals"]
