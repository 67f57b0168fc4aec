"""The paper book's day in words for the digest (no digits; the numbers stay in the artifact)."""

from __future__ import annotations

from tracer_assets.lake import Lake
from tracer_assets.pipeline.store import Store
from tracer_assets.signals.words import has_digit, number_to_words

# day return (fraction of equity) -> words, by threshold
_MOVES = [
    (0.01, "gained well"),
    (0.001, "gained a little"),
    (-0.001, "was about flat"),
    (-0.01, "lost a little"),
]


def book_day(lake: Lake | Store, day: str) -> dict | None:
    """The book's figures for ``day`` (None when the paper book has no rows that day)."""
    port = lake.read("portfolio", day, day)
    if not len(port):
        return None
    port = port.sort_values("ts")
    last = port.iloc[-1]
    orders = lake.read("orders", day, day)
    events = lake.read("risk_events", day, day)
    positions = lake.read("positions", day, day)
    held = positions[positions["ts"] == last["ts"]] if len(positions) else positions
    start_equity = float(port["equity"].iloc[0] - port["daily_pnl"].iloc[0])
    return {
        "equity": float(last["equity"]),
        "day_return": float(last["daily_pnl"]) / start_equity if start_equity else 0.0,
        "open_positions": len(held),
        "orders_sent": int((orders["status"] != "blocked").sum()) if len(orders) else 0,
        "orders_blocked": int((orders["status"] == "blocked").sum()) if len(orders) else 0,
        "orders_reduced": int((events["action"] == "reduced").sum()) if len(events) else 0,
        "kill_switch": bool(last["kill_switch"]),
    }


def book_words(book: dict) -> str:
    move = next((w for edge, w in _MOVES if book["day_return"] > edge), "lost well")
    count = lambda n, one, many: f"{number_to_words(n)} {one if n == 1 else many}"  # noqa: E731
    text = (
        f"The paper book {move} today, holds {count(book['open_positions'], 'position', 'positions')}, "
        f"sent {count(book['orders_sent'], 'order', 'orders')}; the risk engine blocked "
        f"{number_to_words(book['orders_blocked'])} and reduced {number_to_words(book['orders_reduced'])}. "
        + ("The kill switch is ON: no order is sent." if book["kill_switch"] else "The kill switch is off.")
    )
    if has_digit(text):
        raise AssertionError("paper book words contain a digit")
    return text
