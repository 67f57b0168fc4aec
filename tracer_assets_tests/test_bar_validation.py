"""Bars are validated after the window filter, and for values no market gives (issue 13, item 5).

Served by a local Alpaca server in the documented ``{"bars": {symbol: [...]}, "next_page_token"}`` shape.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.providers.alpaca_bars import AlpacaBarsProvider
from tracer_assets_tests.providers_helpers import BTC, ETH, LocalServer, Reply, live_client, make_settings

CRYPTO = "/v1beta3/crypto/us/bars"
START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-03T00:00:00Z")


def bar(t: str, c: float = 100.0, **override) -> dict:
    return {"t": t, "o": c, "h": c + 1, "l": c - 1, "c": c, "v": 5.0, "n": 3, "vw": c, **override}


def hour(h: int) -> str:
    return (START + pd.Timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def fetch(tmp_path):
    with LocalServer() as server:

        def run(items: list[dict], **settings):
            server.route(CRYPTO, lambda q: Reply(200, {"bars": {"BTC/USD": items}, "next_page_token": None}))
            provider, _ = live_client(
                AlpacaBarsProvider, make_settings(tmp_path, alpaca_data_url=server.url, **settings)
            )
            return provider.fetch_bars_result([BTC, ETH], START, END)

        yield run


def test_a_far_future_bar_does_not_push_real_bars_to_quarantine(fetch):
    result = fetch([bar(hour(0)), bar(hour(1)), bar("2031-06-01T00:00:00Z"), bar(hour(2)), bar(hour(3))])
    assert [t.hour for t in result.frame["ts"]] == [0, 1, 2, 3]
    assert len(result.quarantine) == 0 and result.stats["outside_window"] == 1


@pytest.mark.parametrize(
    "item, reason",
    [
        (bar("2024-01-01T05:17:00Z"), "off the 0 days 01:00:00 grid"),
        (bar(hour(5), c=1e300), "absurd price"),
        (bar(hour(5), c=2e7), "absurd price"),
        (bar(hour(5), vw=150.0), "vwap 150.0 outside"),
        (bar(hour(5), vw=float("inf")), "absurd price"),
        (bar(hour(5), c=100_000.0, o=100_000.0, h=100_001.0, l=99_999.0, vw=100_000.0), "absurd jump"),
        (bar(hour(5), h=90.0), "inconsistent OHLC"),
        (bar(hour(5), o=120.0), "inconsistent OHLC"),
        (bar(hour(5), v=-1.0), "v: Input should be greater than or equal to 0"),
        (dict(bar(hour(5)), c=float("nan")), "c: Input should be a finite number"),
        (bar(hour(5), o=0.0), "o: Input should be greater than 0"),
    ],
    ids=[
        "off-grid",
        "1e300",
        "above-bound",
        "vwap-out",
        "vwap-inf",
        "jump",
        "high<low",
        "open>high",
        "neg-vol",
        "nan",
        "zero",
    ],
)
def test_absurd_bars_are_quarantined_with_their_reason_and_no_good_bar_is_lost(fetch, item, reason):
    good = [bar(hour(h)) for h in (3, 4, 6, 7)]
    result = fetch([*good[:2], item, *good[2:]])
    assert [t.hour for t in result.frame["ts"]] == [3, 4, 6, 7]
    reasons = result.quarantine["reason"].tolist()
    assert len(reasons) == 1 and reason in reasons[0], reasons
    assert not result.degraded


def test_bounds_come_from_the_settings(fetch):
    from tracer_assets.settings import SafetySettings

    items = [bar(hour(0), c=50.0), bar(hour(1), c=500.0), bar(hour(2), c=50.0)]
    assert len(fetch(items).frame) == 3  # 10x stays under the default factor of 20
    tight = SafetySettings(_env_file=None, bar_max_jump_factor=5.0)
    result = fetch(items, safety=tight)
    assert [t.hour for t in result.frame["ts"]] == [0, 2]
    assert "absurd jump" in result.quarantine["reason"].iloc[0]
    capped = fetch(items, safety=SafetySettings(_env_file=None, bar_max_price=400.0))
    assert len(capped.frame) == 2 and "sanity bound 400" in capped.quarantine["reason"].iloc[0]
