"""Combined polarity of the model and the LLM, and the disagreement flag.

With an LLM score (``llm_polarity`` not null), weights ``w_m = confidence`` and
``w_l = llm_weight * llm_confidence``:

* ``combined_polarity = (polarity * w_m + llm_polarity * w_l) / (w_m + w_l)`` (the mean of the two
  when both weights are 0);
* ``combined_confidence = (confidence + llm_weight * llm_confidence) / (1 + llm_weight)``;
* ``disagreement`` = the two point in opposite directions (one positive, the other negative) and
  ``|polarity - llm_polarity| >= disagreement_threshold``.

Without one, ``combined_* = polarity / confidence`` and ``disagreement`` is null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def combine_polarity(
    scores: pd.DataFrame, *, llm_weight: float, disagreement_threshold: float
) -> pd.DataFrame:
    """``scores`` with combined_polarity, combined_confidence and disagreement added."""
    p = scores["polarity"].to_numpy(float)
    c = scores["confidence"].to_numpy(float)
    lp = scores["llm_polarity"].to_numpy(float)
    lc = scores["llm_confidence"].to_numpy(float)
    has = ~np.isnan(lp) & ~np.isnan(lc)
    wm, wl = c, llm_weight * np.nan_to_num(lc)
    total = wm + wl
    blended = np.where(
        total > 0,
        (p * wm + np.nan_to_num(lp) * wl) / np.where(total > 0, total, 1.0),
        (p + np.nan_to_num(lp)) / 2,
    )
    model_dir = scores["label"].map({"positive": 1, "negative": -1}).fillna(0).to_numpy(int)
    opposite = model_dir * np.sign(np.nan_to_num(lp)) < 0
    flag = opposite & (np.abs(p - np.nan_to_num(lp)) >= disagreement_threshold)
    out = scores.copy()
    out["combined_polarity"] = np.where(has, blended, p)
    out["combined_confidence"] = np.where(has, (c + llm_weight * np.nan_to_num(lc)) / (1 + llm_weight), c)
    out["disagreement"] = pd.array(np.where(has, flag, False), dtype="boolean")
    out.loc[~has, "disagreement"] = pd.NA
    return out
