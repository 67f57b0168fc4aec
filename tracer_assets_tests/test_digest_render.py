"""Digest text (escaped HTML, no digit), degraded notice, artifact and lake rows with every number."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tracer_assets.digest import DIGEST_COLUMNS, build_digest
from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets_tests.conftest import settings_factory

AS_OF = pd.Timestamp("2024-06-04 14:00", tz="UTC")


settings = settings_factory(digest_top_n=2, digest_alternates=1, digest_max_markets=3)


def signals(symbols=("BTC/USD", "S&P<5>", "ETH/USD", "SOL/USD")):
    n = len(symbols)
    return pd.DataFrame(
        {
            "signal_id": [f"sig{i}" for i in range(n)],
            "symbol": list(symbols),
            "asset_class": "crypto",
            "direction": ["long", "short"] * (n // 2) + ["long"] * (n % 2),
            "strength": [0.9 - 0.1 * i for i in range(n)],
            "internal_prob": [0.7] * n,
            "horizon_hours": 24,
            "size": [0.08, 0.0, 0.02, 0.05][:n],
            "size_bucket": ["large", "none", "small", "medium"][:n],
            "reversal": [False, True, False, False][:n],
            "evidence": [json.dumps(["Coverage turned sharply positive.", "Volume is high."])] * n,
            "rationale": [json.dumps({"pressure": 1.25, "price_move_z": -0.75})] * n,
            "decision_ts": AS_OF - pd.Timedelta(hours=2),
            "available_ts": AS_OF - pd.Timedelta(hours=2),
        }
    )


MARKETS = pd.DataFrame(
    {
        "market_id": ["m1"],
        "symbol": ["BTC/USD"],
        "question": ["Will BTC close above $100,000 on June 30th?"],
        "yes_price": [0.35],
        "internal_prob": [0.7],
    }
)


def test_chat_text_has_no_digit_and_is_escaped():
    d = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    assert not re.search(r"\d", d.text)
    assert "S&amp;P&lt;five&gt;" in d.text  # digits spelled, HTML escaped
    assert "S&P" not in d.text
    assert "one hundred thousand" in d.text and "<b>Prediction markets</b>" in d.text
    assert "Tuesday the fourth of June" in d.text
    assert "a reversal call" in d.text and "watch only" in d.text


def test_sections_top_alternates_and_evidence():
    d = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    top, alternates = d.text.split("<b>Alternates</b>")
    assert top.count("Coverage turned sharply positive.") == 2  # evidence under each top signal
    assert alternates.count("Volume is high.") == 1  # and under the alternate
    assert "<b>Top signals</b>" in d.text and "<b>Alternates</b>" in d.text
    assert "SOL/USD" not in d.text  # beyond top N + alternates


def test_degraded_inputs_are_said_in_one_plain_line():
    d = build_digest(
        signals(), None, settings().digest, AS_OF, degraded_reasons=["news provider skipped", "BTC/USD bars"]
    )
    lines = [line for line in d.text.split("\n") if "degraded" in line]
    assert len(lines) == 1 and "<" not in lines[0]
    assert "news provider skipped" in lines[0]
    assert d.artifact["degraded"] is True and d.rows["degraded"].all()
    healthy = build_digest(signals(), None, settings().digest, AS_OF)
    assert "degraded" not in healthy.text and healthy.artifact["degraded"] is False


def test_artifact_keeps_every_number():
    d = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    art = json.loads(json.dumps(d.artifact, allow_nan=False))
    first = art["signals"][0]
    assert first["strength"] == pytest.approx(0.9) and first["internal_prob"] == pytest.approx(0.7)
    assert first["edge"] == pytest.approx(0.2) and first["score"] == pytest.approx(0.18)
    assert first["size"] == pytest.approx(0.08) and first["rationale"]["pressure"] == 1.25
    assert art["markets"][0]["yes_price"] == 0.35
    assert art["as_of"] == AS_OF.isoformat() and art["n_live_signals"] == 4


def test_rows_meet_the_digest_contract_and_store(tmp_path):
    d = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    assert list(d.rows.columns) == DIGEST_COLUMNS
    assert set(contract_columns("digest")) <= set(d.rows.columns)
    assert d.rows["section"].tolist() == ["digest", "top", "top", "alternate", "polymarket"]
    assert d.rows.loc[0, "text"] == d.text and d.rows.loc[0, "rank"] == 0
    assert not any(re.search(r"\d", t) for t in d.rows["text"])
    assert d.rows.loc[4, "yes_price"] == 0.35 and d.rows.loc[1, "strength"] == pytest.approx(0.9)
    Lake(tmp_path).write_partition("digest", AS_OF, d.rows)
    assert len(Lake(tmp_path).read("digest", AS_OF, AS_OF)) == 5


def test_empty_digest_says_so():
    d = build_digest(signals().iloc[:0], MARKETS, settings().digest, AS_OF)
    assert "No signal passed the checks in the last twenty-four hours." in d.text
    assert list(d.rows.columns) == DIGEST_COLUMNS
    assert d.rows["section"].tolist() == ["digest"] and d.rows["text"].iloc[0] == d.text
    assert d.messages == [d.text]


def test_same_inputs_same_digest_id():
    a = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    b = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    assert a.digest_id == b.digest_id and a.text == b.text
    assert (
        build_digest(signals(), MARKETS, settings().digest, AS_OF + pd.Timedelta(hours=1)).digest_id
        != a.digest_id
    )


def test_delivery_key_ignores_the_hour_but_not_the_content():
    from tracer_assets.pipeline.digest import delivery_key

    a = build_digest(signals(), MARKETS, settings().digest, AS_OF)
    later = build_digest(signals(), MARKETS, settings().digest, AS_OF + pd.Timedelta(minutes=30))
    assert a.digest_id != later.digest_id
    assert delivery_key("2024-06-04", a.rows) == delivery_key("2024-06-04", later.rows)
    fewer = build_digest(signals().iloc[1:], MARKETS, settings().digest, AS_OF)
    assert delivery_key("2024-06-04", fewer.rows) != delivery_key("2024-06-04", a.rows)
    degraded = build_digest(signals(), MARKETS, settings().digest, AS_OF, ["bars from alpaca"])
    assert delivery_key("2024-06-04", degraded.rows) != delivery_key("2024-06-04", a.rows)


def test_records_of_the_fields_read_box_values_as_the_whole_frame_does():
    """An entry's record holds only the fields it reads, each value as ``to_dict`` of the whole frame
    gives it (Python floats, bools and strings, not numpy scalars), in the order asked for."""
    from tracer_assets.digest.render import SIGNAL_ENTRY_FIELDS, records

    frame = signals()
    full = frame.to_dict("records")
    asked = ("evidence", "absent", *[f for f in SIGNAL_ENTRY_FIELDS if f != "evidence"])
    got = records(frame, asked)
    assert len(got) == len(full)
    for small, whole in zip(got, full, strict=True):
        assert list(small) == [f for f in asked if f != "absent"]
        for key, value in small.items():
            assert value == whole[key] and type(value) is type(whole[key]), key
