"""The internal paper broker (``paper_sim``): signals become orders, the risk engine checks each
one, and orders fill on the lake's bars by the rules the backtest engine shares (``trade_rules``:
fill timing, horizon exits, sizing at the decision, cancelled entries, ``CostModel`` costs).

A signal opens a position of ``size`` x equity in its direction, held for its horizon (a later
signal in the same direction extends it, an opposite one closes it and opens the new side). The
run walks the hours of [start, end): fills at each bar's open, marks at its close (a ``portfolio``
row and one ``positions`` row per holding), then the decisions of that close. Its state at the end
of a day (``SimState``) round-trips through JSON, so a range run equals its days run one by one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from tracer_assets.backtest import trade_rules
from tracer_assets.backtest.costs import CostModel
from tracer_assets.execution.controls import KILL, RISK_ENGINE, control_row, kill_state
from tracer_assets.execution.ledger import Ledger, client_order_id
from tracer_assets.execution.risk import (
    BLOCKED,
    HALTED,
    Book,
    Decision,
    MarketCheck,
    check_entry,
    drift_trims,
    risk_event,
)
from tracer_assets.lake.store import new_id
from tracer_assets.settings import ExecutionSettings, RiskSettings

HOUR = pd.Timedelta(hours=1)
EPS = 1e-12
BROKER = "paper_sim"


@dataclass
class Leg:
    signal_id: str
    direction: int
    exit_due: str  # ISO timestamp
    exit_blocked_logged: bool = False


@dataclass
class Pending:
    order_id: str
    symbol: str
    decided: str  # ISO timestamp
    notional: float | None  # signed (entries and trims) ...
    qty: float | None  # ... or signed qty (exits)


@dataclass
class SimState:
    cash: float
    qty: dict[str, float] = field(default_factory=dict)
    avg_price: dict[str, float] = field(default_factory=dict)
    last_close: dict[str, float] = field(default_factory=dict)
    legs: dict[str, Leg] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    peak_equity: float = 0.0
    day_start_equity: float = 0.0
    last_equity: float = 0.0
    order_times: list[str] = field(default_factory=list)
    halted_logged: str = ""

    @classmethod
    def initial(cls, cash: float) -> SimState:
        return cls(cash=cash, peak_equity=cash, day_start_equity=cash, last_equity=cash)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SimState:
        raw = json.loads(text)
        raw["legs"] = {s: Leg(**v) for s, v in raw["legs"].items()}
        raw["pending"] = [Pending(**p) for p in raw["pending"]]
        return cls(**raw)


@dataclass
class SimResult:
    ledger: Ledger
    states: dict[str, str]  # day -> state JSON at the end of that day
    controls: list[dict]  # kill switch trips by the risk engine
    state: SimState


class BarIndex:
    """Bars per symbol as arrays: the bar opening at an hour, and what was known at a time."""

    def __init__(self, bars: pd.DataFrame):
        self.by_open: dict[tuple[str, pd.Timestamp], tuple[float, float, float, float]] = {}
        self.close_at: dict[pd.Timestamp, list[tuple[str, float]]] = {}
        self.times: set[pd.Timestamp] = set()
        self.arrays: dict[str, dict[str, np.ndarray]] = {}
        if not len(bars):
            return
        b = bars.sort_values(["symbol", "ts"]).drop_duplicates(["symbol", "ts"], keep="last")
        # whole columns boxed at once (iterating a datetime Series boxes it chunk by chunk)
        symbols = b["symbol"].tolist()
        ts = pd.to_datetime(b["ts"], utc=True).tolist()
        o, h, low, c = (b[col].to_numpy(float).tolist() for col in ("open", "high", "low", "close"))
        self.by_open = dict(zip(zip(symbols, ts, strict=True), zip(o, h, low, c, strict=True), strict=True))
        avail = pd.to_datetime(b["available_ts"], utc=True).tolist()
        for symbol, at, close in zip(symbols, avail, c, strict=True):
            self.close_at.setdefault(at, []).append((symbol, close))
        self.times = set(ts) | set(avail)
        for symbol, g in b.groupby("symbol", sort=False):
            self.arrays[symbol] = {
                "avail": pd.to_datetime(g["available_ts"], utc=True).to_numpy(dtype="datetime64[us]"),
                "close": g["close"].to_numpy(float),
                "volume": g["volume"].to_numpy(float),
            }

    def market_check(self, symbol: str, at: pd.Timestamp, lookback: int) -> MarketCheck | None:
        arr = self.arrays.get(symbol)
        if arr is None:
            return None
        i = int(np.searchsorted(arr["avail"], np.datetime64(at.tz_convert(None), "us"), side="right")) - 1
        if i < 0:
            return None
        age = (at - pd.Timestamp(arr["avail"][i], tz="UTC")) / HOUR
        gap = abs(arr["close"][i] / arr["close"][i - 1] - 1.0) if i > 0 else 0.0
        window = arr["volume"][max(0, i - lookback) : i]
        median = float(np.median(window)) if len(window) else 0.0
        ratio = float(arr["volume"][i] / median) if median > 0 else 0.0
        return MarketCheck(gap=float(gap), volume_ratio=ratio, data_age_hours=float(age))


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).isoformat()


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


class PaperSim:
    """One run of the internal paper broker over [start, end)."""

    def __init__(
        self,
        risk: RiskSettings,
        execution: ExecutionSettings,
        asset_class: dict[str, str],
        controls: pd.DataFrame,
        degraded_days: set[str] | None = None,
    ):
        self.risk = risk
        self.execution = execution
        self.asset_class = asset_class
        self.controls = controls
        self.degraded_days = degraded_days or set()
        self.cost = CostModel(
            execution.execution_fee_bps,
            execution.execution_slippage_bps,
            execution.execution_slippage_range_frac,
        )

    # ---- book -------------------------------------------------------------------------------
    def _equity(self, st: SimState) -> float:
        return st.cash + sum(q * st.last_close.get(s, 0.0) for s, q in st.qty.items())

    def _book(self, st: SimState, equity: float, credit_reductions: bool = True) -> Book:
        """Held plus pending exposure. New entries see a book that does not yet credit pending exits
        and trims (a stock exit waiting for Monday's open frees no room on Saturday)."""
        exposure = {s: q * st.last_close.get(s, 0.0) for s, q in st.qty.items()}
        for p in st.pending:
            px = st.last_close.get(p.symbol, 0.0)
            add = p.notional if p.notional is not None else (p.qty or 0.0) * px
            if credit_reductions or add * exposure.get(p.symbol, 0.0) >= 0:
                exposure[p.symbol] = exposure.get(p.symbol, 0.0) + add
        return Book(equity=equity, exposure=exposure, asset_class=self.asset_class)

    def _fill(self, st: SimState, p: Pending, bar, at: pd.Timestamp, led: Ledger) -> None:
        o, h, low, _ = bar
        side = 1 if ((p.notional or 0.0) > 0 or (p.qty or 0.0) > 0) else -1
        price = trade_rules.fill_price(self.cost, side, o, h, low)
        qty = p.qty if p.qty is not None else trade_rules.fill_qty(p.notional, price)
        notional = qty * price
        fee = self.cost.fee(notional)
        st.cash -= notional + fee
        old = st.qty.get(p.symbol, 0.0)
        new = old + qty
        if abs(new) < EPS * max(1.0, abs(old)):
            st.qty.pop(p.symbol, None)
            st.avg_price.pop(p.symbol, None)
        else:
            if old == 0 or np.sign(new) != np.sign(old):
                st.avg_price[p.symbol] = price
            elif abs(new) > abs(old):
                st.avg_price[p.symbol] = (st.avg_price[p.symbol] * old + price * qty) / new
            st.qty[p.symbol] = new
        led.fills.append(
            {
                "fill_id": new_id("fill", p.order_id),
                "order_id": p.order_id,
                "symbol": p.symbol,
                "qty": qty,
                "price": price,
                "fee": fee,
                "notional": notional,
                "event_ts": at,
                "available_ts": at,
            }
        )
        row = led.order_index.get(p.order_id)
        if row is not None and row["submitted_ts"].floor("D") == at.floor("D"):
            row["status"], row["filled_ts"] = "filled", at

    def _order(
        self,
        st: SimState,
        led: Ledger,
        at,
        symbol,
        signal_id,
        leg,
        *,
        notional=None,
        qty=None,
        status="submitted",
    ) -> None:
        coid = client_order_id(signal_id or f"{symbol}", leg)
        order_id = new_id("order", BROKER, coid)
        signed = notional if notional is not None else qty
        led.orders.append(
            row := {
                "order_id": order_id,
                "client_order_id": coid,
                "signal_id": signal_id,
                "symbol": symbol,
                "side": "buy" if signed > 0 else "sell",
                "qty": abs(qty) if qty is not None else np.nan,
                "notional": abs(notional) if notional is not None else np.nan,
                "type": "market",
                "status": status,
                "broker": BROKER,
                "submitted_ts": at,
                "event_ts": at,
                "available_ts": at,
                "leg": leg.split("@")[0],
                "filled_ts": pd.NaT,
            }
        )
        led.order_index[order_id] = row
        if status == "submitted":
            st.pending.append(Pending(order_id, symbol, _iso(at), notional, qty))
            st.order_times.append(_iso(at))

    # ---- the run ----------------------------------------------------------------------------
    def run(
        self,
        signals: pd.DataFrame,
        bars: pd.DataFrame,
        start: pd.Timestamp,
        end: pd.Timestamp,
        state: SimState,
    ) -> SimResult:
        st = SimState.from_json(state.to_json())  # never mutate the caller's state
        led, controls, states = Ledger(), [], {}
        index = BarIndex(bars)
        sig = trade_rules.tradable_signals(signals, start, end)
        by_close: dict[pd.Timestamp, list] = {}
        for row in sig.itertuples(index=False):
            by_close.setdefault(row.decision_ts, []).append(row)
        risk = self.risk
        grid = list(trade_rules.event_grid(start, end, list(index.times), list(by_close)))
        day = None
        for i, t in enumerate(grid):
            # 1. marks: the closes of the bars that closed at t
            for s, c in index.close_at.get(t, ()):
                st.last_close[s] = c
            equity = self._equity(st)
            if t.floor("D") != day:
                day = t.floor("D")
                st.day_start_equity = equity
            st.last_equity = equity
            st.peak_equity = max(st.peak_equity, equity)
            drawdown = equity / st.peak_equity - 1.0 if st.peak_equity > 0 else 0.0
            # 2. kill switches
            on, why = kill_state(self.controls, t)
            trip = None
            if not on and drawdown <= -risk.risk_max_drawdown:
                trip = ("max_drawdown", f"drawdown {drawdown:.4f} <= -{risk.risk_max_drawdown}")
            elif not on and t.strftime("%Y-%m-%d") in self.degraded_days:
                trip = ("data_staleness", f"inputs degraded on {t:%Y-%m-%d}")
            if trip:
                on, why = self._trip(led, controls, t, trip[0], trip[1])
            # 3. decisions at t, then fills at the open of the bar starting at t
            on, why = self._decide(st, led, controls, t, by_close.get(t, []), index, on, why, equity)
            still = []
            for p in st.pending:
                bar = index.by_open.get((p.symbol, t))
                if bar is not None and trade_rules.fills_on_bar(t, _ts(p.decided)):
                    self._fill(st, p, bar, t, led)
                else:
                    still.append(p)
            st.pending = still
            # 4. the book as it stands at t, after those fills (marked at t's closes)
            self._record(st, led, t, self._equity(st), drawdown, on)
            if i + 1 == len(grid) or grid[i + 1].floor("D") != day:
                states[t.strftime("%Y-%m-%d")] = st.to_json()
        return SimResult(led, states, controls, st)

    def _trip(self, led: Ledger, controls: list, t: pd.Timestamp, rule: str, detail: str) -> tuple[bool, str]:
        row = control_row(KILL, RISK_ENGINE, f"{rule}: {detail}", t)
        controls.append(row)
        self.controls = pd.concat([self.controls, pd.DataFrame([row])], ignore_index=True)
        led.risk_events.append(risk_event(t, rule, HALTED, detail))
        return True, row["why"]

    def _record(
        self, st: SimState, led: Ledger, t: pd.Timestamp, equity: float, drawdown: float, on: bool
    ) -> None:
        values = {s: q * st.last_close[s] for s, q in st.qty.items()}
        led.portfolio.append(
            {
                "ts": t,
                "equity": equity,
                "cash": st.cash,
                "gross_exposure": sum(abs(v) for v in values.values()),
                "net_exposure": sum(values.values()),
                "daily_pnl": equity - st.day_start_equity,
                "drawdown": drawdown,
                "kill_switch": on,
                "peak_equity": st.peak_equity,
                "event_ts": t,
                "available_ts": t,
            }
        )
        for s, v in sorted(values.items()):
            leg = st.legs.get(s)
            led.positions.append(
                {
                    "ts": t,
                    "symbol": s,
                    "qty": st.qty[s],
                    "avg_price": st.avg_price[s],
                    "market_value": v,
                    "signal_id": leg.signal_id if leg else "",
                    "asset_class": self.asset_class.get(s, ""),
                    "event_ts": t,
                    "available_ts": t,
                }
            )

    def _decide(self, st, led, controls, close, new_signals, index, on, why, equity) -> tuple[bool, str]:
        risk = self.risk
        st.order_times = [x for x in st.order_times if _ts(x) > close - HOUR]

        def held_or_pending(symbol: str) -> float:
            return st.qty.get(symbol, 0.0) + sum((p.qty or 0.0) for p in st.pending if p.symbol == symbol)

        def exit_leg(symbol: str, leg: Leg, why_exit: str) -> bool:
            if on:
                if not leg.exit_blocked_logged:
                    led.risk_events.append(
                        risk_event(
                            close,
                            "kill_switch",
                            BLOCKED,
                            f"exit ({why_exit}) not sent: {why}",
                            symbol,
                            leg.signal_id,
                        )
                    )
                    leg.exit_blocked_logged = True
                return False
            # the position plus entries still waiting: an unfilled entry's notional leaves with it
            entry_wait = [p for p in st.pending if p.symbol == symbol and p.notional is not None]
            for p in entry_wait:
                st.pending.remove(p)
                if p.order_id in led.order_index:
                    led.order_index[p.order_id]["status"] = "canceled"
            qty = -held_or_pending(symbol)
            if abs(qty) > 0:
                self._order(st, led, close, symbol, leg.signal_id, "exit", qty=qty)
            return True

        def block_entry(sig, direction: int, why: str) -> None:
            """The kill switch is on: the entry is recorded as a blocked order, with its risk event."""
            led.risk_events.append(risk_event(close, "kill_switch", BLOCKED, why, sig.symbol, sig.signal_id))
            notional = trade_rules.entry_notional(direction, sig.size, equity)
            self._order(
                st, led, close, sig.symbol, sig.signal_id, "entry", notional=notional, status="blocked"
            )

        for symbol, leg in sorted(st.legs.items()):
            if _ts(leg.exit_due) <= close and exit_leg(symbol, leg, "horizon"):
                del st.legs[symbol]
        for sig in new_signals:
            direction = 1 if sig.direction == "long" else -1
            leg = st.legs.get(sig.symbol)
            due = _iso(trade_rules.exit_due(sig.decision_ts, float(sig.horizon_hours)))
            if leg is not None and leg.direction == direction:
                leg.exit_due = max(leg.exit_due, due, key=_ts)
                continue
            if on:
                block_entry(sig, direction, why)
                continue
            if leg is not None:
                if not exit_leg(sig.symbol, leg, "reversal"):
                    continue
                del st.legs[sig.symbol]
            market = index.market_check(sig.symbol, close, risk.risk_volume_lookback_bars)
            if market is None or market.data_age_hours > risk.risk_max_data_age_hours:
                age = "no bar" if market is None else f"last bar {market.data_age_hours:.1f} h old"
                on, why = self._trip(led, controls, close, "data_staleness", f"{sig.symbol}: {age}")
                block_entry(sig, direction, why)
                continue
            requested = trade_rules.entry_notional(direction, sig.size, equity)
            # checked twice: against the book before pending exits and trims free any room, and
            # after them (a reversal's pending exit makes the net more one-sided), keeping the smaller
            decision = None
            for credit in (False, True):
                checked = check_entry(
                    risk,
                    ts=close,
                    symbol=sig.symbol,
                    signal_id=sig.signal_id,
                    notional=requested if decision is None else decision.notional,
                    book=self._book(st, equity, credit_reductions=credit),
                    orders_last_hour=len(st.order_times),
                    day_return=equity / st.day_start_equity - 1.0 if st.day_start_equity > 0 else 0.0,
                    market=market,
                )
                decision = (
                    checked
                    if decision is None
                    else Decision(checked.notional, decision.events + checked.events)
                )
                if decision.notional == 0:
                    break
            led.risk_events.extend(decision.events)
            if decision.notional == 0:
                self._order(
                    st, led, close, sig.symbol, sig.signal_id, "entry", notional=requested, status="blocked"
                )
                continue
            self._order(st, led, close, sig.symbol, sig.signal_id, "entry", notional=decision.notional)
            st.legs[sig.symbol] = Leg(sig.signal_id, direction, due)
        if not on:
            trims, events = drift_trims(risk, close, self._book(st, equity))
            led.risk_events.extend(events)
            for symbol, notional in sorted(trims.items()):
                self._order(st, led, close, symbol, "", f"trim@{_iso(close)}", notional=notional)
        return on, why
