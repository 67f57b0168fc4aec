"""``tracer backtest``: a quant's CSV in, one JSON object (or a table) out; bad input is one line, exit 2."""

from __future__ import annotations

import json
import warnings

import pytest
from backtesting import Backtest
from backtesting.test import GOOG

from tracer_assets.cli import main
from tracer_assets_tests.test_backtest_parity import SmaCross

KEYS = {"n_trades", "final_equity", "return_pct", "sharpe", "max_drawdown_pct", "trades"}
TRADE_KEYS = {"entry_time", "exit_time", "entry_price", "exit_price", "size", "pnl"}


@pytest.fixture(scope="module")
def goog_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "goog.csv"
    GOOG.to_csv(path, index_label="Date")
    return path


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["backtest", *map(str, args)]))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("commission", [0.0, 0.002])
def test_json_matches_backtesting_py_on_its_goog_data(goog_csv, capsys, commission):
    code, out, err = run(
        capsys,
        "--csv",
        goog_csv,
        "--strategy",
        "sma-cross",
        "--fast",
        10,
        "--slow",
        20,
        "--commission",
        commission,
        "--format",
        "json",
    )
    assert code == 0, err
    got = json.loads(out)
    assert set(got) == KEYS and set(got["trades"][0]) == TRADE_KEYS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Backtest(GOOG, SmaCross, cash=10_000, commission=commission).run()
    assert got["n_trades"] == len(ref._trades)
    assert got["final_equity"] == round(ref["Equity Final [$]"], 2)
    assert got["return_pct"] == pytest.approx(ref["Return [%]"], abs=1e-3)
    assert got["trades"][0]["entry_time"].startswith(str(ref._trades["EntryTime"].iloc[0].date()))
    assert got["max_drawdown_pct"] < 0


def test_table_format_and_lowercase_columns_and_cash(tmp_path, capsys):
    path = tmp_path / "lower.csv"
    GOOG.rename(columns=str.lower).to_csv(path, index_label="timestamp")
    code, out, _ = run(capsys, "--csv", path, "--fast", 10, "--slow", 20, "--cash", 20_000)
    assert code == 0
    assert out.splitlines()[0].startswith("n_trades=")
    assert "entry_time" in out.splitlines()[1]


def write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


GOOD_ROWS = "".join(f"2024-01-{d:02d},{100 + d},{101 + d},{99 + d},{100.5 + d},1000\n" for d in range(1, 31))


@pytest.mark.parametrize(
    "text, message",
    [
        ("Date,Open,High,Low,Volume\n2024-01-01,1,2,0.5,10\n", "missing column(s): Close"),
        ("Open,High,Low,Close,Volume\n1,2,0.5,1.5,10\n", "date/time column"),
        ("Date,Open,High,Low,Close,Volume\n" + GOOD_ROWS + "2024-01-05,1,2,0.5,1.5,10\n", "duplicate time"),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-01,1,2,0.5,1.5,10\n",
            "not sorted",
        ),
        ("Date,Open,High,Low,Close,Volume\n2024-01-01,1,2,0.5,,10\n2024-01-02,1,2,0.5,1.5,10\n", "NaN"),
        ("Date,Open,High,Low,Close,Volume\nyesterday,1,2,0.5,1.5,10\n", "not dates"),
        ("Date,Open,High,Low,Close,Volume\n" + GOOD_ROWS[:60], "need more than --slow"),
    ],
)
def test_bad_csv_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    code, out, err = run(capsys, "--csv", write(tmp_path, text), "--fast", 2, "--slow", 5)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fast", 20, "--slow", 10], "must be smaller than --slow"),
        (["--fast", 10, "--slow", 10], "must be smaller than --slow"),
        (["--fast", "x", "--slow", 10], "invalid int value"),
        (["--fast", 2, "--slow", 5, "--commission", 0.5], "--commission"),
        (["--fast", 2, "--slow", 5, "--cash", 0], "--cash"),
        (["--fast", 2, "--slow", 5, "--strategy", "rsi"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(goog_csv, capsys, args, message):
    code, _, err = run(capsys, "--csv", goog_csv, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "--csv", tmp_path / "nope.csv", "--fast", 2, "--slow", 5)
    assert code == 2 and "no such file" in err
