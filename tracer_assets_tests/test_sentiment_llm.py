"""Perplexity polarity on recorded payloads (httpx.MockTransport), the combine rule and disagreement."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr

from tracer_assets.sentiment.combine import combine_polarity
from tracer_assets.sentiment.llm import PerplexityPolarityScorer, parse_chat_completion
from tracer_assets.sentiment.scoring import score_narratives
from tracer_assets.settings import TracerSettings


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    """No TRACER_* variable or .env file of the machine (e.g. a real Perplexity key) leaks in."""
    return tracer_env


KEY = "pplx-test-secret-key-123"
URL = "https://api.perplexity.test"


def completion(content: str, finish: str = "stop", **extra) -> dict:
    """A chat-completions body shaped like Perplexity's (recorded fields, content varied)."""
    return {
        "id": "7c1d3b9e-0f4a-4c1e-9d1e-2f7a4a2b1c00",
        "model": "sonar",
        "created": 1718000000,
        "usage": {"prompt_tokens": 95, "completion_tokens": 48, "total_tokens": 143},
        "object": "chat.completion",
        "choices": [
            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}
        ],
        **extra,
    }


VALID = completion(
    '{"direction": "negative", "confidence": 0.82, "reason": "Withdrawal halts signal\\n insolvency risk.", '
    '"sources": ["https://example.com/a"]}',
    citations=["https://example.com/a", "https://example.com/b"],
    search_results=[{"title": "Exchange halts", "url": "https://example.com/c", "date": "2024-03-01"}],
)
TRUNCATED = completion('{"direction": "positive", "confidence": 0.7, "reason": "Strong quar', finish="length")
THINK = completion(
    "<think>\nThe headline says revenue beat estimates; that is usually bullish.\n</think>\n"
    '```json\n{"direction": "positive", "confidence": 0.9, "reason": "Beat estimates.", "sources": []}\n```'
)
THINK_UNCLOSED = completion("<think>\nLet me consider the macro backdrop and", finish="length")
RATE_LIMITED = {"error": {"message": "Rate limit exceeded", "type": "rate_limit_exceeded", "code": 429}}


def make_scorer(handler, **kw) -> PerplexityPolarityScorer:
    return PerplexityPolarityScorer(
        SecretStr(KEY), base_url=URL, timeout_s=5.0, transport=httpx.MockTransport(handler), **kw
    )


def always(status: int, body=None, headers=None, text=None):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    handler.calls = calls
    return handler


def test_valid_answer_parsed_with_all_sources():
    handler = always(200, VALID)
    r = make_scorer(handler).score_one("Exchange halts withdrawals", "BTC/USD")
    assert r.status == "ok"
    assert (r.direction, r.polarity, r.confidence) == ("negative", -1.0, 0.82)
    assert r.reason == "Withdrawal halts signal insolvency risk."  # one line
    assert r.sources == ["https://example.com/a", "https://example.com/b", "https://example.com/c"]
    req = handler.calls[0]
    assert req.url == httpx.URL(f"{URL}/chat/completions")
    assert req.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(req.content)
    assert body["model"] == "sonar"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == {"direction", "confidence", "reason", "sources"}
    assert "BTC/USD" in body["messages"][-1]["content"]
    assert "Exchange halts withdrawals" in body["messages"][-1]["content"]


def test_think_prefix_and_code_fence_are_stripped():
    r = parse_chat_completion(THINK)
    assert (r.status, r.direction, r.confidence) == ("ok", "positive", 0.9)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (TRUNCATED, "finish_reason=length"),
        (THINK_UNCLOSED, "<think>"),
        (completion("I cannot rate this headline."), "no JSON object"),
        (
            completion('{"direction": "sideways", "confidence": 0.5, "reason": "", "sources": []}'),
            "unknown direction",
        ),
        (
            completion('{"direction": "positive", "confidence": "high", "reason": "", "sources": []}'),
            "not a number",
        ),
        (completion('{"direction": "positive", "confidence": 250, "reason": "", "sources": []}'), "outside"),
        ({"choices": []}, "no choices"),
        ({"unexpected": True}, "no choices"),
    ],
)
def test_unusable_answers_degrade_with_a_reason(payload, needle):
    r = make_scorer(always(200, payload)).score_one("Apple beats estimates")
    assert r.status == "error"
    assert needle in r.detail
    assert r.polarity is None


def test_percentage_confidence_is_rescaled():
    r = parse_chat_completion(
        completion('{"direction": "bullish", "confidence": 85, "reason": "x", "sources": []}')
    )
    assert (r.status, r.direction, r.confidence) == ("ok", "positive", pytest.approx(0.85))


def test_429_stops_calling_for_the_run():
    handler = always(429, RATE_LIMITED, headers={"Retry-After": "30"})
    scorer = make_scorer(handler)
    results = scorer.score(["a", "b", "c"])
    assert results[0].status == "error"
    assert "429" in results[0].detail and "retry after 30" in results[0].detail
    assert [r.status for r in results[1:]] == ["skipped", "skipped"]
    assert len(handler.calls) == 1
    assert "rate limited" in scorer.stopped


def test_5xx_timeouts_and_network_errors_degrade_then_trip():
    state = {"n": 0}

    def handler(request):
        state["n"] += 1
        if state["n"] == 1:
            return httpx.Response(503, text="<html>Service Unavailable</html>")
        if state["n"] == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        raise httpx.ConnectError("connection refused", request=request)

    scorer = make_scorer(handler, max_consecutive_failures=3)
    results = scorer.score(["a", "b", "c", "d"])
    assert results[0].detail == "HTTP 503"
    assert results[1].detail.startswith("timeout")
    assert results[2].detail == "network error: ConnectError"
    assert results[3].status == "skipped"
    assert state["n"] == 3


def test_a_success_resets_the_failure_count():
    seq = iter([503, 200, 503, 200])

    def handler(request):
        status = next(seq)
        return httpx.Response(status, json=VALID if status == 200 else {"error": {"message": "busy"}})

    scorer = make_scorer(handler, max_consecutive_failures=2)
    assert [r.status for r in scorer.score(["a", "b", "c", "d"])] == ["error", "ok", "error", "ok"]
    assert scorer.stopped is None


def test_401_html_page_and_non_json_body():
    scorer = make_scorer(always(401, text="<html><body>Authorization Required</body></html>"))
    r = scorer.score_one("x")
    assert r.status == "error" and r.detail == "not authorised: HTTP 401"
    assert scorer.score_one("y").status == "skipped"
    assert (
        make_scorer(always(200, text="not json at all")).score_one("x").detail == "response body is not JSON"
    )


def test_error_json_message_is_reported():
    body = {"error": {"message": "Invalid model 'sonar-x'", "type": "invalid_model", "code": 400}}
    r = make_scorer(always(400, body)).score_one("x")
    assert r.detail == "HTTP 400: Invalid model 'sonar-x'"


def test_call_budget_per_run():
    handler = always(200, VALID)
    results = make_scorer(handler, max_calls=2).score(["a", "b", "c"])
    assert [r.status for r in results] == ["ok", "ok", "skipped"]
    assert len(handler.calls) == 2


def test_key_never_appears_in_results_or_reprs():
    def handler(request):
        raise httpx.ConnectError(f"failed sending {request.headers['authorization']}", request=request)

    scorer = make_scorer(handler)
    r = scorer.score_one("x")
    assert KEY not in repr(r) and KEY not in r.detail
    assert KEY not in repr(scorer.__dict__)


# ---- combine and disagreement -------------------------------------------------------------------
def frame(p, c, label, lp, lc):
    return pd.DataFrame(
        {"polarity": p, "confidence": c, "label": label, "llm_polarity": lp, "llm_confidence": lc}
    )


def test_combined_polarity_is_confidence_weighted():
    out = combine_polarity(
        frame([0.6], [0.8], ["positive"], [-1.0], [0.4]), llm_weight=1.0, disagreement_threshold=1.0
    )
    assert out["combined_polarity"][0] == pytest.approx((0.6 * 0.8 - 1.0 * 0.4) / 1.2)
    assert out["combined_confidence"][0] == pytest.approx(0.6)
    assert bool(out["disagreement"][0]) is True  # opposite directions, |0.6 - (-1)| = 1.6 >= 1
    heavier = combine_polarity(
        frame([0.6], [0.8], ["positive"], [-1.0], [0.4]), llm_weight=3.0, disagreement_threshold=1.0
    )
    assert heavier["combined_polarity"][0] < out["combined_polarity"][0]


def test_disagreement_needs_opposite_directions_and_distance():
    df = frame(
        [0.6, 0.0, 0.2, -0.9, 0.3],
        [0.8, 0.5, 0.6, 0.9, 0.5],
        ["positive", "neutral", "positive", "negative", "positive"],
        [1.0, -1.0, -1.0, -1.0, np.nan],
        [0.9, 0.9, 0.9, 0.9, np.nan],
    )
    out = combine_polarity(df, llm_weight=1.0, disagreement_threshold=1.25)
    assert out["disagreement"].tolist()[:4] == [
        False,
        False,
        False,
        False,
    ]  # agree; neutral; 1.2 < 1.25; agree
    assert out["disagreement"].isna().tolist() == [False, False, False, False, True]
    assert out["combined_polarity"][4] == pytest.approx(0.3)  # no LLM: the model's polarity
    assert out["combined_confidence"][4] == pytest.approx(0.5)
    tighter = combine_polarity(df, llm_weight=1.0, disagreement_threshold=1.0)
    assert tighter["disagreement"][2]


# ---- inside score_narratives ------------------------------------------------------------------------
def narratives() -> pd.DataFrame:
    t0 = pd.Timestamp("2024-03-01 09:00", tz="UTC")
    return pd.DataFrame(
        {
            "narrative_id": ["n1", "n2"],
            "symbol": ["AAPL", "BTC/USD"],
            "headline": ["Apple beats estimates on strong iPhone demand", "Exchange halts withdrawals"],
            "summary": ["", ""],
            "event_ts": [t0, t0],
            "available_ts": [t0 + pd.Timedelta(minutes=5)] * 2,
        }
    )


def test_score_narratives_with_llm_fills_columns_and_caches(tmp_path):
    answers = {
        "AAPL": '{"direction": "negative", "confidence": 0.9, "reason": "Priced in.", "sources": []}',
        "BTC/USD": '{"direction": "negative", "confidence": 0.8, "reason": "Insolvency risk.", "sources": []}',
    }
    calls = []

    def handler(request):
        calls.append(request)
        user = json.loads(request.content)["messages"][-1]["content"]
        symbol = user.split("\n")[0].removeprefix("Asset: ")
        return httpx.Response(200, json=completion(answers[symbol]))

    settings = TracerSettings(perplexity_api_key=SecretStr(KEY), perplexity_url=URL, novelty_model="hashing")
    llm = make_scorer(handler)
    out = score_narratives(narratives(), settings.sentiment, tmp_path, llm=llm)
    assert len(calls) == 2
    assert out["llm_polarity"].tolist() == [-1.0, -1.0]
    assert out["llm_status"].tolist() == ["ok", "ok"]
    assert out["llm_model"].tolist() == ["perplexity:sonar"] * 2
    # lexicon says positive for Apple, the LLM negative: flagged; BTC agrees: not flagged
    assert out["disagreement"].tolist() == [True, False]
    assert KEY not in out.to_json()
    again = score_narratives(narratives(), settings.sentiment, tmp_path, llm=make_scorer(handler))
    assert len(calls) == 2  # cached answers, no new request
    assert again["llm_polarity"].tolist() == [-1.0, -1.0]


def test_score_narratives_degrades_on_429_and_does_not_cache_failures(tmp_path):
    settings = TracerSettings(perplexity_api_key=SecretStr(KEY), perplexity_url=URL, novelty_model="hashing")
    handler = always(429, RATE_LIMITED)
    out = score_narratives(narratives(), settings.sentiment, tmp_path, llm=make_scorer(handler))
    assert out["llm_polarity"].isna().all()
    assert out["disagreement"].isna().all()
    assert out["llm_status"].str.contains("429").all()
    assert (out["combined_polarity"] == out["polarity"]).all()
    assert "rate limited" in out.attrs["sentiment"]["llm_degraded"]
    ok = always(200, VALID)
    again = score_narratives(narratives(), settings.sentiment, tmp_path, llm=make_scorer(ok))
    assert len(ok.calls) == 2  # failures were not cached: retried
    assert again["llm_status"].tolist() == ["ok", "ok"]


def test_no_key_means_no_llm_columns_filled(tmp_path):
    out = score_narratives(narratives(), TracerSettings(novelty_model="none").sentiment, tmp_path)
    assert out["llm_polarity"].isna().all()
    assert out["llm_status"].tolist() == ["skipped: no Perplexity key"] * 2
    assert out["disagreement"].isna().all()


def test_no_llm_call_for_copies_or_empty_texts(tmp_path):
    settings = TracerSettings(perplexity_api_key=SecretStr(KEY), perplexity_url=URL, novelty_model="hashing")
    df = pd.concat([narratives(), narratives()], ignore_index=True)
    df["narrative_id"] = ["n1", "n2", "n3", "n4"]
    df["available_ts"] = df["available_ts"] + pd.to_timedelta([0, 0, 1, 1], unit="h")
    df.loc[len(df)] = ["n5", "AAPL", "", "", df["event_ts"][0], df["available_ts"][0] + pd.Timedelta(hours=2)]
    handler = always(200, VALID)
    out = score_narratives(df, settings.sentiment, tmp_path, llm=make_scorer(handler))
    assert len(handler.calls) == 2  # n3 and n4 copy n1 and n2; n5 is empty
    assert out["llm_status"].tolist()[2:] == [
        "skipped: near-duplicate of n1",
        "skipped: near-duplicate of n2",
        "skipped: empty text",
    ]
