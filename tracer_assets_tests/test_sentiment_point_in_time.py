"""Point-in-time sentiment: LLM answers bounded and dated, stale news decayed from publication."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from pydantic import SecretStr

from tracer_assets.sentiment.llm import PerplexityPolarityScorer
from tracer_assets.sentiment.pressure import llm_exclusions, narrative_pressure
from tracer_assets.sentiment.scoring import score_narratives
from tracer_assets.settings import TracerSettings


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    return tracer_env


KEY = "pplx-test-secret-key-123"
URL = "https://api.perplexity.test"
T0 = pd.Timestamp("2024-03-01 10:00", tz="UTC")
ANSWER = {
    "id": "x",
    "model": "sonar",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {
                "role": "assistant",
                "content": '{"direction": "negative", "confidence": 0.9, "reason": "Priced in.", "sources": []}',
            },
        }
    ],
}


def _narratives() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "narrative_id": ["n1"],
            "symbol": ["AAPL"],
            "headline": ["Apple beats estimates on strong iPhone demand"],
            "summary": [""],
            "event_ts": [T0],
            "available_ts": [T0 + pd.Timedelta(minutes=5)],
        }
    )


def test_llm_search_is_bounded_before_availability_and_the_answer_is_dated(tmp_path):
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=ANSWER)

    asked_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a backfill: asked long after the story
    llm = PerplexityPolarityScorer(
        SecretStr(KEY), base_url=URL, transport=httpx.MockTransport(handler), clock=lambda: asked_at
    )
    settings = TracerSettings(perplexity_api_key=SecretStr(KEY), perplexity_url=URL, novelty_model="hashing")
    out = score_narratives(_narratives(), settings.sentiment, tmp_path, llm=llm)
    assert bodies[0]["search_before_date_filter"] == "03/01/2024"
    assert out["llm_obtained_ts"].tolist() == [pd.Timestamp(asked_at)]
    # a re-run served from the cache keeps the time the answer was first obtained
    later = PerplexityPolarityScorer(
        SecretStr(KEY),
        base_url=URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: datetime(2027, 1, 1, tzinfo=UTC),
    )
    again = score_narratives(_narratives(), settings.sentiment, tmp_path, llm=later)
    assert len(bodies) == 1
    assert again["llm_obtained_ts"].tolist() == [pd.Timestamp(asked_at)]


def _scored(obtained: pd.Timestamp | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "narrative_id": ["n1"],
            "symbol": ["X"],
            "polarity": [0.8],
            "confidence": [1.0],
            "novelty": [1.0],
            "llm_polarity": [-1.0],
            "llm_confidence": [1.0],
            "combined_polarity": [-0.1],
            "combined_confidence": [1.0],
            "event_ts": [T0],
            "available_ts": [T0],
            "llm_obtained_ts": pd.to_datetime([obtained], utc=True),
        }
    )


def test_an_llm_answer_obtained_after_a_decision_is_not_used_for_it():
    s = TracerSettings(pressure_half_life_hours=10.0)
    obtained = T0 + pd.Timedelta(hours=5)
    sc = _scored(obtained)
    dec = pd.DataFrame({"symbol": "X", "decision_ts": [T0, T0 + pd.Timedelta(hours=4), obtained]})
    out = narrative_pressure(sc, dec, s.sentiment)
    decay = [1.0, 2 ** (-0.4), 2 ** (-0.5)]
    # before the answer existed: the model alone (+0.8); from then on the blend (-0.1)
    assert out["pressure"].tolist() == pytest.approx([0.8 * decay[0], 0.8 * decay[1], -0.1 * decay[2]])
    assert llm_exclusions(sc, dec["decision_ts"].iloc[:2]) == {"llm_late": 1, "llm_excluded": 1}
    assert llm_exclusions(sc, dec["decision_ts"]) == {"llm_late": 1, "llm_excluded": 0}


def test_an_llm_answer_without_a_recorded_time_is_never_used():
    s = TracerSettings(pressure_half_life_hours=10.0)
    sc = _scored(None)
    out = narrative_pressure(sc, pd.DataFrame({"symbol": ["X"], "decision_ts": [T0]}), s.sentiment)
    assert out["pressure"].tolist() == pytest.approx([0.8])


def test_a_late_fetched_story_enters_at_availability_already_decayed():
    s = TracerSettings(pressure_half_life_hours=6.0)
    sc = pd.DataFrame(
        {
            "symbol": ["X"],
            "polarity": [1.0],
            "confidence": [1.0],
            "novelty": [1.0],
            "event_ts": [T0],  # published 10:00
            "available_ts": [T0 + pd.Timedelta(hours=6)],  # fetched 16:00
        }
    )
    hours = [3, 6, 12]
    out = narrative_pressure(
        sc,
        pd.DataFrame({"symbol": "X", "decision_ts": [T0 + pd.Timedelta(hours=h) for h in hours]}),
        s.sentiment,
    )
    # invisible before it was fetched; then weighted by its age since publication
    assert out["pressure"].tolist() == pytest.approx([0.0, 0.5, 0.25])
    assert out["n_narratives"].tolist() == [0, 1, 1]
    assert out["pressure"].iloc[1] == pytest.approx(math.exp(-6 * math.log(2) / 6))
