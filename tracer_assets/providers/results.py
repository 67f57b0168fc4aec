"""What a fetch returns beside its frame (quarantine, degraded status), and the ``run_health`` rows.

Real providers implement ``fetch_bars_result`` / ``fetch_narratives_result`` / ``fetch_markets_result``
returning a ``FetchResult``; their protocol methods (``fetch_bars`` ...) return ``result.frame`` and keep
the whole result in ``provider.last_result``. ``fetch_result`` works with any provider, the sim
included, so the asset layer has one call for all of them.

``run_health`` columns: ``health_id`` (stable per run/asset/partition/provider), ``run_id``, ``asset``,
``partition``, ``provider``, ``degraded`` (bool), ``reason`` ('' when healthy; reasons joined by '; '),
``event_ts`` and ``available_ts`` (both the time the row was recorded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.lake import new_id
from tracer_assets.lake.schemas import CONTRACT, TS
from tracer_assets.providers.resilience import ProviderUnavailable
from tracer_assets.providers.validation import Quarantine, empty_quarantine

if TYPE_CHECKING:
    from tracer_assets.providers.raw_zone import RawRecord
    from tracer_assets.providers.redact import Redactor
    from tracer_assets.providers.resilience import Resilience
    from tracer_assets.settings import TracerSettings

RUN_HEALTH_COLUMNS = [
    "health_id",
    "run_id",
    "asset",
    "partition",
    "provider",
    "degraded",
    "reason",
    "event_ts",
    "available_ts",
]


@dataclass
class FetchResult:
    """A provider's answer: the good rows, the quarantined ones, and whether anything was skipped."""

    provider: str
    frame: pd.DataFrame
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)
    degraded: bool = False
    reasons: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    # days whose stored rows must stay: the fetch brought far fewer rows than the lake holds for them
    suspect_days: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(self.reasons))

    def metadata(self) -> dict[str, Any]:
        """Plain values for a MaterializeResult's metadata (no secrets: reasons are redacted)."""
        return {
            "provider": self.provider,
            "degraded": self.degraded,
            "degraded_reason": self.reason,
            "quarantined_rows": len(self.quarantine),
            **{f"fetch_{k}": int(v) for k, v in self.stats.items()},
        }

    def health_row(self, run_id: str, asset: str, partition: str, ts: pd.Timestamp) -> dict[str, Any]:
        return run_health_row(run_id, asset, partition, self.provider, self.degraded, self.reason, ts)


class LiveFetch:
    """One fetch of a live provider: its quarantine, why it degraded, and how many requests it sent."""

    def __init__(
        self,
        provider: str,
        raw_provider: str,
        settings: TracerSettings,
        redactor: Redactor,
        resilience: Resilience,
        window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    ):
        self.provider = provider
        self.quarantine = Quarantine(
            raw_provider, settings.quarantine_payload_max_chars, redactor, window=window
        )
        self.reasons: list[str] = []
        self._resilience = resilience
        self._attempts_before = resilience.attempts

    def failed(self, exc: ProviderUnavailable) -> RawRecord | None:
        """Note why the fetch degraded; the 2xx record the failure carries (a malformed body), if any.

        That record is still parsed, so its body lands in quarantine instead of being lost.
        """
        self.reasons.append(str(exc))
        return exc.record if exc.record is not None and exc.record.ok else None

    def collect(self, pages: Iterable[RawRecord]) -> list[RawRecord]:
        """The records ``pages`` yields until one fails for good; that failure degrades the fetch and
        its 2xx record, if any, is kept (``failed``). Pages already received stay."""
        records: list[RawRecord] = []
        try:
            for record in pages:
                records.append(record)
        except ProviderUnavailable as exc:
            if (kept := self.failed(exc)) is not None:
                records.append(kept)
        return records

    def result(self, frame: pd.DataFrame, stats: Counter) -> FetchResult:
        """The ``FetchResult``, with ``stats`` completed by the requests sent and the rows quarantined."""
        stats["requests"] = self._resilience.attempts - self._attempts_before
        stats["quarantined"] = len(self.quarantine)
        return FetchResult(
            self.provider, frame, self.quarantine.frame(), bool(self.reasons), self.reasons, dict(stats)
        )


def run_health_row(
    run_id: str,
    asset: str,
    partition: str,
    provider: str,
    degraded: bool,
    reason: str,
    ts: pd.Timestamp,
) -> dict[str, Any]:
    """One ``run_health`` row: did ``asset``'s ``partition`` in run ``run_id`` get all it asked of ``provider``."""
    ts = utc(ts)
    return {
        "health_id": new_id("run_health", run_id, asset, partition, provider),
        "run_id": run_id,
        "asset": asset,
        "partition": partition,
        "provider": provider,
        "degraded": bool(degraded),
        "reason": reason or "",
        "event_ts": ts,
        "available_ts": ts,
    }


def fetch_result(provider: Any, method: str, *args: Any) -> FetchResult:
    """Call ``provider.<method>_result(*args)`` when it has one, else wrap ``provider.<method>(*args)``.

    ``method`` is a protocol method name: ``fetch_bars``, ``fetch_narratives`` or ``fetch_markets``.
    """
    rich = getattr(provider, f"{method}_result", None)
    if callable(rich):
        return rich(*args)
    frame = getattr(provider, method)(*args)
    return FetchResult(provider=getattr(provider, "name", type(provider).__name__), frame=frame)


def empty_frame(table: str, extra: dict[str, str] | None = None) -> pd.DataFrame:
    """An empty frame with ``table``'s contract columns (typed) plus ``extra`` columns (name -> dtype)."""
    cols: dict[str, pd.Series] = {}
    for name, dtype in CONTRACT[table]:
        if dtype == TS:
            cols[name] = pd.Series(dtype="datetime64[us, UTC]")
        elif str(dtype) in ("double", "float"):
            cols[name] = pd.Series(dtype="float64")
        elif str(dtype) == "bool":
            cols[name] = pd.Series(dtype="bool")
        elif str(dtype) == "int64":
            cols[name] = pd.Series(dtype="int64")
        else:
            cols[name] = pd.Series(dtype="str")
    for name, dtype in (extra or {}).items():
        cols[name] = pd.Series(dtype=dtype)
    return pd.DataFrame(cols)


def frame_from_rows(
    table: str,
    rows: list[dict[str, Any]],
    extra: dict[str, str] | None = None,
    sort_by: list[str] | None = None,
) -> pd.DataFrame:
    """Rows as a frame with the contract columns first and every ``*_ts`` column tz-aware UTC, sorted
    (stable) by ``sort_by`` when given."""
    empty = empty_frame(table, extra)
    if not rows:
        return empty
    frame = pd.DataFrame(rows)
    for col in empty.columns:
        if col not in frame.columns:
            frame[col] = pd.Series([None] * len(frame), dtype=empty[col].dtype)
    ordered = list(empty.columns) + [c for c in frame.columns if c not in empty.columns]
    frame = frame[ordered]
    for col in frame.columns:
        if col == "ts" or col.endswith("_ts"):
            frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[us, UTC]")
    if sort_by:
        frame = frame.sort_values(sort_by, kind="stable")
    return frame.reset_index(drop=True)


def concat_frames(
    frames: list[pd.DataFrame], table: str, extra: dict[str, str] | None = None
) -> pd.DataFrame:
    """Concatenate the non-empty frames; an empty typed frame when there are none."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(table, extra)
    return pd.concat(frames, ignore_index=True)


class BarsFrame:
    """``fetch_bars``: the frame of the provider's ``fetch_bars_result``."""

    def fetch_bars(self, instruments: list, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        return self.fetch_bars_result(instruments, start, end).frame


class NarrativesFrame:
    """``fetch_narratives``: the frame of the provider's ``fetch_narratives_result``."""

    def fetch_narratives(self, instruments: list, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        return self.fetch_narratives_result(instruments, start, end).frame


class MarketsFrame:
    """``fetch_markets``: the frame of the provider's ``fetch_markets_result``."""

    def fetch_markets(self, instruments: list, as_of: pd.Timestamp) -> pd.DataFrame:
        return self.fetch_markets_result(instruments, as_of).frame
