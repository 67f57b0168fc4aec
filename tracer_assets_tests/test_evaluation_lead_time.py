"""Freezing market predictions at a lead time: never a price from the resolution day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.lead_time import (
    FROZEN_COLUMNS,
    freeze_at_lead,
    freeze_at_leads,
    lead_hours_list,
)
from tracer_assets.settings import TracerSettings


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def hourly_history(question_id: str, start: str, end: str) -> pd.DataFrame:
    times = pd.date_range(ts(start), ts(end), freq="h")
    # The price is the hour count, so a frozen price names the hour it came from.
    return pd.DataFrame({"question_id": question_id, "ts": times, "price": np.arange(len(times)) / 1000.0})


def test_price_is_the_last_one_at_or_before_the_lead():
    history = hourly_history("q", "2024-01-01 00:00", "2024-01-10 00:00")
    questions = pd.DataFrame({"question_id": ["q"], "end_ts": [ts("2024-01-08 00:00")]})
    out = freeze_at_lead(history, questions, 24)
    assert list(out.columns) == FROZEN_COLUMNS
    assert out["frozen_ts"].item() == ts("2024-01-07 00:00")  # exactly at the lead is allowed
    week = freeze_at_lead(history, questions, 168)
    assert week["frozen_ts"].item() == ts("2024-01-01 00:00")


def test_no_resolution_day_price_enters_even_with_a_short_lead():
    history = hourly_history("q", "2024-01-01 00:00", "2024-01-05 23:00")
    end = ts("2024-01-05 18:00")
    questions = pd.DataFrame({"question_id": ["q"], "end_ts": [end]})
    for lead in (1, 6, 17, 18):
        out = freeze_at_lead(history, questions, lead)
        # the day's first instant carries nothing from the day itself; anything later is refused
        assert out["frozen_ts"].item() <= end.floor("D")
        assert out["frozen_ts"].item() == ts("2024-01-05 00:00")
    assert freeze_at_lead(history, questions, 19)["frozen_ts"].item() == ts("2024-01-04 23:00")
    assert freeze_at_lead(history, questions, 30)["frozen_ts"].item() == ts("2024-01-04 12:00")


def test_a_midnight_end_resolves_on_the_day_before():
    # "close on Jan 5", ending 2024-01-06 00:00: Jan 5 is the resolution day, its prices never enter
    history = hourly_history("q", "2024-01-01 00:00", "2024-01-06 00:00")
    questions = pd.DataFrame({"question_id": ["q"], "end_ts": [ts("2024-01-06 00:00")]})
    for lead in (1, 12, 24):
        assert freeze_at_lead(history, questions, lead)["frozen_ts"].item() == ts("2024-01-05 00:00")
    assert freeze_at_lead(history, questions, 25)["frozen_ts"].item() == ts("2024-01-04 23:00")


def test_early_resolution_moves_the_cutoff_before_that_day():
    history = hourly_history("q", "2024-01-01 00:00", "2024-01-09 00:00")
    questions = pd.DataFrame(
        {"question_id": ["q"], "end_ts": [ts("2024-01-09 00:00")], "resolved_ts": [ts("2024-01-03 15:00")]}
    )
    out = freeze_at_lead(history, questions, 24)
    assert out["frozen_ts"].item() == ts("2024-01-03 00:00")


def test_questions_without_an_eligible_price_keep_their_row():
    history = pd.concat(
        [
            hourly_history("late", "2024-01-05 00:00", "2024-01-06 00:00"),
            pd.DataFrame({"question_id": ["gap"], "ts": [ts("2024-01-01 00:00")], "price": [np.nan]}),
        ]
    )
    questions = pd.DataFrame(
        {
            "question_id": ["late", "none", "gap"],
            "end_ts": [ts("2024-01-05 12:00"), ts("2024-01-05"), ts("2024-01-05")],
        }
    )
    out = freeze_at_lead(history, questions, 24).set_index("question_id")
    assert len(out) == 3
    assert out["frozen_price"].isna().all() and out["frozen_ts"].isna().all()


def test_many_questions_and_leads_at_once():
    history = pd.concat([hourly_history(q, "2024-01-01 00:00", "2024-01-20 00:00") for q in ("a", "b")])
    questions = pd.DataFrame(
        {"question_id": ["a", "b"], "end_ts": [ts("2024-01-10 06:00"), ts("2024-01-15 00:00")]}
    )
    out = freeze_at_leads(history, questions, [24, 168])
    assert len(out) == 4
    assert (out["frozen_ts"] <= out["end_ts"] - pd.to_timedelta(out["lead_hours"], unit="h")).all()
    assert (out["frozen_ts"] <= (out["end_ts"] - pd.Timedelta(microseconds=1)).dt.floor("D")).all()


def test_bad_input_is_a_clear_error():
    questions = pd.DataFrame({"question_id": ["a", "a"], "end_ts": [ts("2024-01-02"), ts("2024-01-03")]})
    history = hourly_history("a", "2024-01-01 00:00", "2024-01-02 00:00")
    with pytest.raises(ValueError, match="duplicate"):
        freeze_at_lead(history, questions, 24)
    with pytest.raises(ValueError, match="lacks columns"):
        freeze_at_lead(history.drop(columns="price"), questions.iloc[:1], 24)
    with pytest.raises(ValueError, match="positive"):
        freeze_at_lead(history, questions.iloc[:1], 0)


def test_lead_hours_setting(tracer_env):
    assert lead_hours_list(TracerSettings(eval_lead_hours="168, 24").evaluation) == [24, 168]
    with pytest.raises(ValueError, match="whole hours"):
        lead_hours_list(TracerSettings(eval_lead_hours="1d").evaluation)
    with pytest.raises(ValueError, match="positive"):
        lead_hours_list(TracerSettings(eval_lead_hours="0,24").evaluation)
