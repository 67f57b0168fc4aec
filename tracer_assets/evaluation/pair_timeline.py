"""Which internal and market rows pair up (``metrics.market_pairs``) as rows become known, step by step.

``market_pairs`` keeps, per question and lead time, the first row of each side in canonical order and
pairs the two. As rows arrive the pair of a key appears once both sides are known and changes only when
a row earlier in canonical order arrives (a repeated observation). A segment is one pair and the steps
it holds for: ``start`` (inclusive) to ``end`` (exclusive; ``NEVER`` while it still holds). Each
segment is decided by rows known by its start, so a later row never changes what an earlier step saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NEVER = 2**62  # exact as a float too
SEGMENT_COLUMNS = ["int_pos", "mkt_pos", "start", "end"]


def pair_keys(frame: pd.DataFrame) -> np.ndarray:
    """The key ``market_pairs`` pairs on (question id and lead) as a number, -1 without a question id."""
    codes, _ = pd.MultiIndex.from_arrays([frame["question_id"], frame["lead_label"].fillna("")]).factorize()
    return np.where(frame["question_id"].notna().to_numpy(), codes, -1)


def pair_segments(int_side: pd.DataFrame, mkt_side: pd.DataFrame) -> pd.DataFrame:
    """Segments from each side's rows (columns ``key`` from ``pair_keys``, ``pos`` = canonical
    position, ``step`` = when it became known), sorted by ``int_pos`` (``market_pairs``'s order)."""
    int_side, mkt_side = (side[side["key"] >= 0] for side in (int_side, mkt_side))
    if not (int_side["key"].duplicated().any() or mkt_side["key"].duplicated().any()):
        return _one_pair_per_key(int_side, mkt_side)
    sides = [
        int_side.assign(int_pos=int_side["pos"].astype(float), mkt_pos=np.nan),
        mkt_side.assign(int_pos=np.nan, mkt_pos=mkt_side["pos"].astype(float)),
    ]
    events = pd.concat([s[["key", "step", "int_pos", "mkt_pos"]] for s in sides], ignore_index=True)
    # per key and step, the first row of each side known so far (NaN until one is)
    chosen = events.groupby(["key", "step"], sort=True)[["int_pos", "mkt_pos"]].min()
    chosen = chosen.groupby(level="key").cummin().groupby(level="key").ffill().dropna()
    before = chosen.groupby(level="key").shift(1)
    changed = (chosen["int_pos"] != before["int_pos"]) | (chosen["mkt_pos"] != before["mkt_pos"])
    segments = chosen[changed].reset_index()
    segments["end"] = segments.groupby("key")["step"].shift(-1).fillna(NEVER)
    segments = segments.rename(columns={"step": "start"})[SEGMENT_COLUMNS].astype("int64")
    return segments.sort_values(["int_pos", "start"], kind="stable").reset_index(drop=True)


def _one_pair_per_key(int_side: pd.DataFrame, mkt_side: pd.DataFrame) -> pd.DataFrame:
    """``pair_segments`` where no key repeats on either side (the usual case): each pair forms once both
    rows are known and holds for good."""
    both = int_side.merge(mkt_side, on="key", suffixes=("_int", "_mkt"))
    segments = pd.DataFrame(
        {
            "int_pos": both["pos_int"],
            "mkt_pos": both["pos_mkt"],
            "start": np.maximum(both["step_int"], both["step_mkt"]),
            "end": NEVER,
        }
    ).astype("int64")
    return segments.sort_values("int_pos", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PairTimeline:
    """``pair_segments`` as arrays: by ``int_pos`` for the pairs held at a step, by start and by end for
    the pairs formed and replaced at a step."""

    int_pos: np.ndarray
    mkt_pos: np.ndarray
    start: np.ndarray
    end: np.ndarray
    by_start: np.ndarray  # segment indices ordered by start (int_pos order within a start)
    by_end: np.ndarray
    starts: np.ndarray  # start[by_start]
    ends: np.ndarray  # end[by_end]

    @classmethod
    def of(cls, segments: pd.DataFrame) -> PairTimeline:
        start, end = segments["start"].to_numpy(), segments["end"].to_numpy()
        by_start, by_end = np.argsort(start, kind="stable"), np.argsort(end, kind="stable")
        int_pos, mkt_pos = segments["int_pos"].to_numpy(), segments["mkt_pos"].to_numpy()
        return cls(int_pos, mkt_pos, start, end, by_start, by_end, start[by_start], end[by_end])

    def _at(self, order: np.ndarray, ordered: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(ordered, [step, step + 1])
        return self.int_pos[order[lo:hi]], self.mkt_pos[order[lo:hi]]

    def formed(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(internal rows, market rows) of the pairs formed at ``step``."""
        return self._at(self.by_start, self.starts, step)

    def replaced(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(internal rows, market rows) of the pairs a new row replaced at ``step``."""
        return self._at(self.by_end, self.ends, step)

    def held(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(internal rows, market rows) of the pairs at ``step``, in ``market_pairs``'s order."""
        chosen = (self.start <= step) & (self.end > step)
        return self.int_pos[chosen], self.mkt_pos[chosen]
