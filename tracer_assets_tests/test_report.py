"""``tracer report``: every section renders or says in one line that its data does not exist yet."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tracer_assets.cli import main
from tracer_assets.lake import Lake
from tracer_assets.report.build import SECTIONS, build_report
from tracer_assets.report.sections import Window, cohort_section, equity_section, health_section
from tracer_assets.settings import ReportSettings

DAY = "2026-11-02"


def _ts(day: str = DAY) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _pit(n: int, day: str = DAY) -> dict:
    return {"event_ts": [_ts(day)] * n, "available_ts": [_ts(day)] * n}


def test_an_empty_lake_gives_one_line_per_section(tmp_path):
    page, sections = build_report(Lake(tmp_path / "lake"), ReportSettings())
    assert [s.key for s in sections] == [k for k, _ in SECTIONS]
    for s in sections:
        assert s.missing and s.missing.startswith("No data yet") and "\n" not in s.missing
        assert f'data-section="{s.key}"' in page
    assert page.count('class="missing"') == len(SECTIONS)
    # self-contained: plotly.js inlined exactly once, nothing fetched from elsewhere
    assert page.count("<script") == 1 and "<script src" not in page


def test_equity_and_drawdown_against_a_baseline(tmp_path):
    lake = Lake(tmp_path / "lake")
    ts = pd.date_range(_ts(), periods=4, freq="D")
    book = [100.0, 110.0, 99.0, 120.0, 100.0, 90.0, 95.0, 80.0]
    equity = pd.DataFrame(
        {
            "ts": list(ts) * 3,
            "strategy": ["tracer"] * 4 + ["buy_and_hold"] * 4 + ["tracer"] * 4,
            # a symbol's own curve (the tear sheet's) must not be drawn as the strategy's
            "scope": ["portfolio"] * 8 + ["symbol"] * 4,
            "symbol": [None] * 8 + ["BTC/USD"] * 4,
            "asset_class": [None] * 8 + ["crypto"] * 4,
            "equity": book + [1.0, 500.0, 2.0, 900.0],
            "pnl": 0.0,
            "position_value": 0.0,
            "exposure": 0.0,
            "event_ts": list(ts) * 3,
            "available_ts": list(ts) * 3,
        }
    )
    lake.write_partition("backtest_equity", DAY, equity)
    section = equity_section(lake, Window())
    assert section.missing is None
    equity_fig, drawdown_fig = section.figures
    assert {t.name for t in equity_fig.data} == {"tracer", "buy_and_hold"}
    dd = {t.name: np.asarray(t.y) for t in drawdown_fig.data}
    np.testing.assert_allclose(dd["tracer"], [0.0, 0.0, 99 / 110 - 1, 0.0])
    np.testing.assert_allclose(dd["buy_and_hold"], [0.0, -0.1, -0.05, -0.2])


def test_cohort_win_rates_pool_weeks_with_a_wilson_interval(tmp_path):
    lake = Lake(tmp_path / "lake")
    rows = pd.DataFrame(
        {
            "week": ["2026-10-26", "2026-11-02"],
            "kind": ["signal", "signal"],
            "predictor": ["internal", "internal"],
            "cohort_dim": ["symbol", "symbol"],
            "cohort": ["BTC/USD", "BTC/USD"],
            "n": [10, 30],
            "wins": [4, 20],
            "win_rate": [0.4, 20 / 30],
            "win_rate_lo": [0.1, 0.5],
            "win_rate_hi": [0.7, 0.8],
            **_pit(2),
        }
    )
    lake.write_partition("eval_win_rates", DAY, rows)
    (_, table), *_ = cohort_section(lake, Window()).tables
    row = table.iloc[0]
    assert (row["n"], row["wins"]) == (40, 24) and row["win_rate"] == pytest.approx(0.6)
    assert row["win_rate_lo"] == pytest.approx(0.4457, abs=1e-3)  # Wilson 95% for 24/40
    assert row["win_rate_hi"] == pytest.approx(0.7369, abs=1e-3)


def test_health_counts_degraded_runs_and_quarantine_and_respects_the_window(tmp_path):
    lake = Lake(tmp_path / "lake")
    for day, degraded in (("2026-11-01", [True, False]), ("2026-11-02", [False, False])):
        lake.write_partition(
            "run_health",
            day,
            pd.DataFrame(
                {
                    "health_id": [f"{day}-a", f"{day}-b"],
                    "run_id": ["r", "r"],
                    "asset": ["bars", "narratives"],
                    "partition": [day, day],
                    "provider": ["alpaca", "sim"],
                    "degraded": degraded,
                    "reason": ["HTTP 503" if d else "" for d in degraded],
                    **_pit(2, day),
                }
            ),
        )
    section = health_section(lake, Window())
    assert section.missing is None and section.figures
    (caption, degraded), (qcaption, _) = section.tables
    assert caption == "Degraded runs: 1 of 4 fetches" and degraded["reason"].tolist() == ["HTTP 503"]
    assert qcaption == "Quarantined rows: 0"
    later = health_section(lake, Window(start="2026-11-02"))
    assert later.tables[0][0] == "Degraded runs: 0 of 2 fetches"


def test_cli_writes_the_page_and_refuses_a_reversed_window(tmp_path, tracer_env, capsys):
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--out", str(out)]) == 0
    page = out.read_text()
    assert re.search(r"<h1>Tracer report</h1>", page)
    assert "Report:" in capsys.readouterr().out
    assert main(["report", "--start", "2026-11-05", "--end", "2026-11-01", "--out", str(out)]) == 2
    with pytest.raises(SystemExit):
        main(["report", "--start", "not-a-date"])


def test_walk_forward_folds_are_drawn_in_and_out_of_sample_from_the_contract_columns(tmp_path):
    from tracer_assets.report.sections import walk_forward_section

    lake = Lake(tmp_path / "lake")
    folds = pd.DataFrame(
        {
            "fold_id": ["2026-10", "2026-11"],
            "is_start": [_ts("2026-07-01"), _ts("2026-08-01")],
            "is_end": [_ts("2026-09-29"), _ts("2026-10-30")],
            "oos_start": [_ts("2026-10-01"), _ts("2026-11-01")],
            "oos_end": [_ts("2026-10-31"), _ts("2026-11-30")],
            "params": ['{"cooldown_hours": 12}', '{"cooldown_hours": 24}'],
            "is_objective": [2.5, 3.0],
            "is_deflated_sharpe_prob": [0.97, 0.99],
            "oos_objective": [1.2, -0.4],
            "n_configs_tried": [180, 180],
            "n_oos_trades": [40, 38],
            **_pit(2),
        }
    )
    lake.write_partition("walk_forward_folds", DAY, folds)
    section = walk_forward_section(lake, Window())
    assert section.missing is None
    (fig,) = section.figures
    bars = {t.name: list(t.y) for t in fig.data}
    assert bars == {"in sample": [2.5, 3.0], "out of sample": [1.2, -0.4]}
    assert [name for name, _ in section.tables] == ["walk forward folds"]
    empty = walk_forward_section(Lake(tmp_path / "other"), Window())
    assert empty.missing and empty.missing.startswith("No data yet")
