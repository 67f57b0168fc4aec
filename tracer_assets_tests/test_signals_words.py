"""Numbers, dates and odds in words, for the digit-free texts."""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.signals.words import (
    date_words,
    has_digit,
    hours_words,
    number_to_words,
    ordinal_words,
    probability_words,
    spell_numbers,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (105, "one hundred five"),
        (2024, "two thousand twenty-four"),
        (1_000_000, "one million"),
    ],
)
def test_number_to_words(n, words):
    assert number_to_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"), [(1, "first"), (4, "fourth"), (12, "twelfth"), (21, "twenty-first"), (30, "thirtieth")]
)
def test_ordinal_words(n, words):
    assert ordinal_words(n) == words


def test_spell_numbers_leaves_no_digit():
    text = "Will BTC trade above $100,000 by June 30th? 3.5% up, 1INCH and ²"
    out = spell_numbers(text)
    assert not has_digit(out)
    assert "$one hundred thousand" in out and "June thirtieth" in out
    assert "three point five percent" in out and "oneINCH" in out


def test_hours_dates_and_odds_in_words():
    assert (
        hours_words(12) == "twelve hours" and hours_words(1) == "one hour" and hours_words(72) == "three days"
    )
    ts = pd.Timestamp("2024-06-04 14:05", tz="UTC")
    assert date_words(ts) == "Tuesday the fourth of June, fourteen oh five UTC"
    assert date_words(pd.Timestamp("2024-06-04", tz="UTC")).endswith("midnight UTC")
    edges = [0.2, 0.4, 0.6, 0.8]
    assert [probability_words(p, edges) for p in (0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "very unlikely",
        "unlikely",
        "a toss-up",
        "likely",
        "very likely",
    ]
    with pytest.raises(ValueError):
        probability_words(0.5, [0.5])
