"""Bad input across config, settings, the CLI and the providers' parsers (issue 13, item 12).

Each case asserts a clear error (one line naming the file, setting or row) or a quarantine row with
its reason, and that no good row is lost beside it. The README's "Bad input and hostile SQL" section
lists every case and its outcome.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pydantic import ValidationError

from tracer_assets.cli import main
from tracer_assets.lake import Lake
from tracer_assets.providers.alpaca_bars import parse_bar_records
from tracer_assets.providers.alpaca_news import parse_news_records
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets.providers.validation import QUARANTINE_COLUMNS, Quarantine, empty_quarantine
from tracer_assets.settings import TracerSettings, settings_error_line
from tracer_assets.universe import UniverseError, load_universe
from tracer_assets_tests.providers_helpers import AAPL, BTC

# ---- config: the universe file --------------------------------------------------------------------

GOOD = "  - {symbol: BTC/USD, asset_class: crypto}\n"
UNIVERSE_CASES = {
    "missing file": (None, "universe file not found"),
    "broken YAML": ("instruments:\n  - {symbol: BTC/USD, asset_class: crypto\n", "is not valid YAML at line"),
    "not a mapping": ("- BTC/USD\n", "must be a mapping with an 'instruments' list"),
    "no instruments": ("calendar: XNYS\n", "lists no instruments"),
    "instrument not a mapping": ("instruments:\n  - BTC/USD\n", "instrument #1 is not a mapping"),
    "unknown field": (
        "instruments:\n  - {symbol: AAPL, asset_class: stock, sim_prize: 3}\n",
        "unknown fields ['sim_prize']",
    ),
    "bad asset class": (
        "instruments:\n  - {symbol: AAPL, asset_class: bond}\n",
        "asset_class must be crypto or stock",
    ),
    "lower-case pair": (
        "instruments:\n  - {symbol: btc/usd, asset_class: crypto}\n",
        "unknown crypto symbol 'btc/usd'",
    ),
    "compact pair": (
        "instruments:\n  - {symbol: BTCUSD, asset_class: crypto}\n",
        "unknown crypto symbol 'BTCUSD'",
    ),
    "alias of one symbol": (
        f"instruments:\n{GOOD}  - {{symbol: BTCUSD, asset_class: stock}}\n",
        "'BTC/USD' and 'BTCUSD' are one symbol",
    ),
    "same symbol twice": (f"instruments:\n{GOOD}{GOOD}", "are one symbol, listed twice"),
    "unknown calendar": (f"calendar: XNYZ\ninstruments:\n{GOOD}", "unknown calendar 'XNYZ'"),
    "negative sim price": (
        "instruments:\n  - {symbol: AAPL, asset_class: stock, sim_price: -5}\n",
        "sim_price must be a finite number above 0",
    ),
    "NaN sim price": (
        "instruments:\n  - {symbol: AAPL, asset_class: stock, sim_price: .nan}\n",
        "sim_price must be a finite number above 0",
    ),
    "text sim volatility": (
        "instruments:\n  - {symbol: AAPL, asset_class: stock, sim_vol_annual: high}\n",
        "sim_vol_annual must be a finite number above 0",
    ),
}


@pytest.mark.parametrize("case", list(UNIVERSE_CASES))
def test_bad_universe_is_refused_at_load_naming_the_file(tmp_path, case):
    text, fragment = UNIVERSE_CASES[case]
    path = tmp_path / "universe.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UniverseError) as err:
        load_universe(path)
    message = str(err.value)
    assert fragment in message and str(path) in message and "\n" not in message


# ---- config: settings -----------------------------------------------------------------------------

SETTINGS_CASES = {
    "negative timeout": (
        {"TRACER_HTTP_TIMEOUT_S": "-1"},
        "TRACER_HTTP_TIMEOUT_S='-1': Input should be greater than 0",
    ),
    "ratio above 1": ({"TRACER_FETCH_MIN_KEPT_RATIO": "2"}, "TRACER_FETCH_MIN_KEPT_RATIO='2'"),
    "unknown provider": ({"TRACER_BARS_PROVIDER": "bloomberg"}, "TRACER_BARS_PROVIDER='bloomberg'"),
}


@pytest.mark.parametrize("case", list(SETTINGS_CASES))
def test_bad_setting_names_its_variable(tracer_env, monkeypatch, case):
    env, fragment = SETTINGS_CASES[case]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as err:
        TracerSettings()
    assert fragment in settings_error_line(err.value)


# ---- the CLI ----------------------------------------------------------------------------------------


def _cli_lake(root):
    ts = pd.Timestamp("2024-03-01", tz="UTC")
    Lake(root / "lake").write_partition(
        "run_health",
        "2024-03-01",
        pd.DataFrame(
            [
                {
                    "health_id": "h",
                    "run_id": "r",
                    "asset": "bars",
                    "partition": "2024-03-01",
                    "provider": "sim",
                    "degraded": False,
                    "reason": "",
                    "event_ts": ts,
                    "available_ts": ts,
                }
            ]
        ),
    )
    (root / "afile").write_text("x")


CLI_CASES = {
    "lake root is a file": (["sql", "select 1", "--lake", "{root}/afile"], {}, 2, "is a file, not a folder"),
    "missing --file": (["sql", "--file", "{root}/nope.sql"], {}, 2, "cannot read --file"),
    "empty query": (["sql", "  "], {}, 2, "empty query"),
    "query and --file": (["sql", "select 1", "--file", "{root}/q.sql"], {}, 2, "give a query or --file"),
    "SQL syntax error": (["sql", "select from where"], {}, 2, "could not parse the query"),
    "unknown table": (["sql", "select * from no_such_table"], {}, 1, "no_such_table"),
    "bad setting": (
        ["sql", "select 1"],
        {"TRACER_HTTP_TIMEOUT_S": "-1"},
        2,
        "bad setting: TRACER_HTTP_TIMEOUT_S",
    ),
    "write refused": (["sql", "DELETE FROM run_health"], {}, 2, "DELETE statements are not allowed"),
    # every command, not only sql, turns a bad TRACER_* value into one line
    "bad setting, status": (
        ["status"],
        {"TRACER_COOLDOWN_HOURS": "abc"},
        2,
        "bad setting: TRACER_COOLDOWN_HOURS",
    ),
    "bad setting, settings": (
        ["settings"],
        {"TRACER_DIGEST_TOP_N": "-3"},
        2,
        "bad setting: TRACER_DIGEST_TOP_N",
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input_is_one_line_and_an_exit_code(tracer_env, monkeypatch, capsys, case):
    argv, env, code, fragment = CLI_CASES[case]
    _cli_lake(tracer_env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([a.format(root=tracer_env) for a in argv]) == code
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert len(Lake(tracer_env / "lake").read("run_health")) == 1  # nothing lost


# ---- providers: bad rows go to quarantine with their reason; good rows stay ------------------------

START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-02T00:00:00Z")
FETCHED = pd.Timestamp("2024-01-03T00:00:00Z")


def bar(hour: int, **over) -> dict:
    t = (START + pd.Timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"t": t, "o": 10.0, "h": 11.0, "l": 9.0, "c": 10.0, "v": 1.0, "n": 1, "vw": 10.0, **over}


GOOD_BARS = [bar(1), bar(2)]
BAR_CASES = {
    "body not JSON": (b'{"bars": {"BTC/USD": [', "malformed JSON", 0),
    "no bars object": ({"data": []}, "schema drift: no 'bars' object", 0),
    "bars not an object": ({"bars": [bar(1)]}, "'bars' is not an object", 0),
    "symbol not requested": (
        {"bars": {"BTC/USD": GOOD_BARS, "XRP/USD": [bar(3)]}},
        "symbol not requested: XRP/USD",
        2,
    ),
    "bars of a symbol not a list": (
        {"bars": {"BTC/USD": GOOD_BARS, "AAPL": {"t": 1}}},
        "bars of a symbol are not a list",
        2,
    ),
    "item not an object": ({"bars": {"BTC/USD": [*GOOD_BARS, "x"]}}, "expected an object", 2),
    "missing close": (
        {"bars": {"BTC/USD": [*GOOD_BARS, {k: v for k, v in bar(3).items() if k != "c"}]}},
        "c: Field required",
        2,
    ),
    "naive timestamp": (
        {"bars": {"BTC/USD": [*GOOD_BARS, bar(3, t="2024-01-01T03:00:00")]}},
        "naive timestamp",
        2,
    ),
    "price 1e300": (
        {"bars": {"BTC/USD": [*GOOD_BARS, bar(3, **{"o": 1e300, "h": 1e300, "c": 1e300})]}},
        "absurd price",
        2,
    ),
    "negative volume": (
        {"bars": {"BTC/USD": [*GOOD_BARS, bar(3, v=-2)]}},
        "v: Input should be greater than or equal to 0",
        2,
    ),
    "duplicate bar": ({"bars": {"BTC/USD": [*GOOD_BARS, bar(2)]}}, "duplicate bar", 2),
    "far-future bar": ({"bars": {"BTC/USD": [bar(1), bar(24 * 365 * 9), bar(2)]}}, None, 2),
}


def _record(tmp_path, provider: str, body) -> object:
    data = body if isinstance(body, bytes) else json.dumps({**body, "next_page_token": None}).encode()
    return RawZone(tmp_path).store(
        provider,
        "2024-01-01",
        fetch_id="f",
        seq=0,
        endpoint="x",
        method="GET",
        params={},
        status=200,
        body=data,
        fetched_at=FETCHED,
    )


@pytest.mark.parametrize("case", list(BAR_CASES))
def test_bad_bars_are_quarantined_with_their_reason(tmp_path, case):
    body, reason, kept = BAR_CASES[case]
    quarantine = Quarantine("alpaca_bars")
    frame, _ = parse_bar_records(
        [_record(tmp_path, "alpaca_bars", body)], [BTC, AAPL], START, END, "1Hour", quarantine
    )
    assert len(frame) == kept  # every good bar beside the bad one is kept
    rows = quarantine.frame()
    if reason is None:  # another partition's bar: counted, not quarantined, and harms no other bar
        assert len(rows) == 0
    else:
        assert len(rows) == 1 and reason in rows["reason"].iloc[0], rows["reason"].tolist()
        assert rows["payload"].iloc[0] and rows["raw_ref"].iloc[0]


def article(i: int, **over) -> dict:
    return {
        "id": i,
        "headline": f"Headline {i}",
        "created_at": (START + pd.Timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": None,
        "summary": "",
        "url": "https://example.com",
        "author": "a",
        "source": "benzinga",
        "symbols": ["AAPL"],
        **over,
    }


NEWS_CASES = {
    "no news list": ({"articles": []}, "schema drift: no 'news' list", 0),
    "article without headline": ({"news": [article(1), article(2, headline="")]}, "headline", 1),
    "created after it was fetched": (
        {"news": [article(1), article(2, created_at="2024-01-05T00:00:00Z")]},
        "created_at after the response was received",
        1,
    ),
    "naive created_at": (
        {"news": [article(1), article(2, created_at="2024-01-01T02:00:00")]},
        "naive timestamp",
        1,
    ),
}


@pytest.mark.parametrize("case", list(NEWS_CASES))
def test_bad_news_is_quarantined_with_its_reason(tmp_path, case):
    body, reason, kept = NEWS_CASES[case]
    quarantine = Quarantine("alpaca_news")
    frame, _ = parse_news_records(
        [_record(tmp_path, "alpaca_news", body)], [BTC, AAPL], START, END, 0.0, quarantine
    )
    assert len(frame) == kept
    rows = quarantine.frame()
    assert len(rows) == 1 and reason in rows["reason"].iloc[0], rows["reason"].tolist()


def test_the_suite_has_at_least_thirty_cases():
    total = len(UNIVERSE_CASES) + len(SETTINGS_CASES) + len(CLI_CASES) + len(BAR_CASES) + len(NEWS_CASES)
    assert total >= 30


def test_empty_quarantine_frames_are_independent_and_typed():
    """The empty frame is built once and handed out as copies: a caller's rows never reach the next."""
    first = empty_quarantine()
    first.drop(columns=["payload"], inplace=True)
    first["extra"] = pd.Series(dtype="str")
    second = empty_quarantine()
    assert len(second) == 0 and list(second.columns) == QUARANTINE_COLUMNS
    assert str(second["event_ts"].dtype) == "datetime64[us, UTC]" and str(second["provider"].dtype) == "str"
