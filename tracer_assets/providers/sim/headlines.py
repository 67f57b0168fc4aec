"""Finance and crypto headlines whose wording follows a story's hidden polarity.

Plain templates use the words a finance lexicon knows ("beats estimates", "downgrade"); hard ones
use negation, contrast or a polar word in the opposite sense ("fails to beat", "probe closes without
charges"), so a lexicon reads most stories right but not all. Firms, exchanges and conferences are
fictional; the URL host is under the reserved ``.invalid`` domain.
"""

from __future__ import annotations

from tracer_assets.providers.sim.narratives import DayNarratives
from tracer_assets.providers.sim.streams import Stream, stream_rng

NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ether",
    "SOL": "Solana",
    "AVAX": "Avalanche",
    "LINK": "Chainlink",
    "DOGE": "Dogecoin",
    "AAPL": "Apple",
    "MSFT": "Microsoft",
    "NVDA": "Nvidia",
    "TSLA": "Tesla",
    "AMZN": "Amazon",
    "COIN": "Coinbase",
}
SOURCES = ("SimWire", "Sim Market News", "Tracer Sim Desk", "The Sim Ledger")
URL_ROOT = "https://news.sim.invalid/story/"

FIRMS = ("Halcyon Securities", "Northbridge Capital", "Marlowe & Co", "Bayfront Research", "Kestrel Partners")
EXCHANGES = ("Nordex", "CoinHarbor", "Bitlane", "Veridian Exchange")
REGULATORS = ("SEC", "CFTC", "DOJ", "FTC")
CONFERENCES = ("the Sim Tech Summit", "the Lakeside Investor Forum", "the Global Digital Assets Week")
SEGMENTS = ("cloud", "data center", "services", "advertising", "automotive", "payments")
PRODUCTS = ("flagship device", "new platform", "next-generation chip", "subscription tier")
PARTNERS = ("a major automaker", "a top-five bank", "a federal agency", "a global retailer")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("March", "April", "May", "June", "September", "October")

# TEMPLATES[asset_class][polarity][hard] -> wording
TEMPLATES: dict[str, dict[int, dict[bool, tuple[str, ...]]]] = {
    "stock": {
        1: {
            False: (
                "{name} beats Q{q} estimates as {segment} revenue jumps {pct}%",
                "{firm} upgrades {name} to Buy, lifts price target",
                "{name} raises full-year guidance on strong demand",
                "{name} announces ${amount} billion share buyback",
                "{name} shares surge after record quarterly revenue",
                "{name} wins multi-year contract with {partner}",
                "{name} tops profit forecasts as margins expand",
                "Analysts turn bullish on {name} after blowout quarter",
                "{name} receives regulatory approval for {product}",
            ),
            True: (
                "{name} shrugs off {firm} downgrade as orders keep climbing",
                "{regulator} closes probe into {name} without charges",
                "{name} losses narrower than feared; shares rebound",
                "Bears fail to dent {name} as buyers step in after early dip",
                "{name} misses on revenue but lifts guidance sharply, shares rise",
                "No slowdown in sight as {name} shrugs off weak-market fears",
            ),
        },
        -1: {
            False: (
                "{name} misses Q{q} revenue estimates, shares slide",
                "{firm} downgrades {name} to Sell on slowing growth",
                "{name} cuts full-year outlook amid weak demand",
                "{regulator} opens probe into {name} sales practices",
                "{name} recalls {product} units over safety defect",
                "{name} shares tumble after guidance disappoints",
                "{name} hit with ${amount} billion antitrust fine",
                "{name} warns of margin pressure, plans layoffs",
                "Short seller targets {name} over accounting concerns",
            ),
            True: (
                "{name} fails to beat estimates as {segment} momentum stalls",
                "{name} beats on earnings but cuts outlook, shares fall",
                "Despite record revenue, {name} slides on soft guidance",
                "{firm} upgrade fails to lift {name} as selling deepens",
                "{name} not expected to meet growth targets, {firm} says",
                "{name} rally fizzles as investors question upbeat forecast",
            ),
        },
        0: {
            False: (
                "{name} to present at {conference} next week",
                "{name} files routine 8-K with the SEC",
                "{name} schedules Q{q} earnings call for {weekday}",
                "{name} names new head of investor relations",
                "{name} to hold annual shareholder meeting in {month}",
                "{name} declares regular quarterly dividend",
                "{name} publishes annual sustainability report",
            ),
            True: (
                "{name}: analysts split between upgrade and downgrade calls before earnings",
                "{name} neither confirms nor denies report of takeover interest",
                "{name} reiterates guidance, no surprise for bulls or bears",
            ),
        },
    },
    "crypto": {
        1: {
            False: (
                "{name} ETFs see record inflows of ${amount_m} million",
                "{exchange} lists {ticker} with deep liquidity at launch",
                "{name} network upgrade goes live smoothly",
                "{name} rallies {pct}% as whales accumulate",
                "{firm} upgrades {name} outlook, sees new highs",
                "{name} on-chain activity hits all-time high",
                "Payments giant adds {name} support for millions of merchants",
                "{name} staking deposits climb to record",
            ),
            True: (
                "{name} shrugs off exchange outage as buyers step in",
                "{regulator} drops probe into {name} issuer",
                "{name} outflows slow sharply as selling pressure fades",
                "Short sellers fail to push {name} below key support",
                "{name} avoids sell-off despite broad market weakness",
            ),
        },
        -1: {
            False: (
                "{exchange} halts {name} withdrawals after security incident",
                "{regulator} opens probe into {name} market makers",
                "{name} slumps {pct}% as ETF outflows accelerate",
                "Exploit drains ${amount_m} million from {name} bridge",
                "{firm} downgrades {name}, warns of further losses",
                "{name} network outage stalls transactions for hours",
                "Large holders dump {name} as liquidations mount",
            ),
            True: (
                "{name} upgrade fails to deliver promised throughput",
                "{name} ETF inflows dry up despite record hype",
                "Despite strong start, {name} gives up gains as whales sell",
                "{name} fails to hold key support after brief rally",
                "{exchange} listing fails to lift {ticker} as volumes fade",
            ),
        },
        0: {
            False: (
                "{name} developers schedule community call for {weekday}",
                "{name} foundation publishes quarterly transparency report",
                "{exchange} to update {ticker} trading fee schedule",
                "{name} core team to present at {conference}",
                "{name} testnet enters routine maintenance window",
                "{name} governance forum opens discussion on parameter change",
            ),
            True: (
                "{name} traders torn between record inflows and heavy outflows",
                "{name} neither rallies nor slumps as market awaits data",
                "{exchange} clarifies {ticker} withdrawal policy, no changes planned",
            ),
        },
    },
}

SUMMARY_LEAD = {
    1: "Analysts called the development supportive for {name}.",
    -1: "Traders described the news as a setback for {name}.",
}
FOLLOW_UP_PREFIXES = ("Update: ", "Recap: ", "Follow-up: ", "Reminder: ")


def display_name(symbol: str) -> str:
    """A readable name for a symbol: known names, else the base ticker."""
    base = symbol.split("/")[0].upper()
    return NAMES.get(base, base)


def render_day(
    seed: int, symbol: str, asset_class: str, day: DayNarratives
) -> tuple[list[str], list[str], list[str]]:
    """Headline, summary and source of every story of one (symbol, day)."""
    rng = stream_rng(seed, symbol, day.ordinal, Stream.HEADLINES)
    n = len(day)
    # fixed draw order and sizes, so a day's wording never depends on anything but the day
    template_pick = rng.random(n)
    fill_pick = rng.integers(0, 1 << 30, size=(n, 11))
    pct = rng.integers(3, 19, size=n)
    amount = rng.integers(2, 41, size=n)
    amount_m = rng.integers(40, 900, size=n)
    lead_pick = rng.random(n) < 0.5
    source_pick = rng.integers(0, len(SOURCES), size=n)

    name = display_name(symbol)
    ticker = symbol.split("/")[0].upper()
    kind = asset_class if asset_class in TEMPLATES else "stock"
    headlines: list[str] = []
    summaries: list[str] = []
    sources: list[str] = []
    for i in range(n):
        pol, hard = int(day.polarity[i]), bool(day.hard[i])
        source = SOURCES[source_pick[i]]
        hhmm = f"{(int(day.event_s[i]) % 86_400) // 3600:02d}:{(int(day.event_s[i]) % 3600) // 60:02d}"
        if day.parent[i] >= 0:
            parent = int(day.parent[i])
            headline = FOLLOW_UP_PREFIXES[fill_pick[i, 0] % len(FOLLOW_UP_PREFIXES)] + headlines[parent]
            summary = f"Follow-up coverage of an earlier report. {source} published it at {hhmm} UTC."
        else:
            options = TEMPLATES[kind][pol][hard]
            f = fill_pick[i]
            fields = {
                "name": name,
                "ticker": ticker,
                "firm": FIRMS[f[1] % len(FIRMS)],
                "exchange": EXCHANGES[f[2] % len(EXCHANGES)],
                "regulator": REGULATORS[f[3] % len(REGULATORS)],
                "conference": CONFERENCES[f[4] % len(CONFERENCES)],
                "segment": SEGMENTS[f[5] % len(SEGMENTS)],
                "product": PRODUCTS[f[6] % len(PRODUCTS)],
                "partner": PARTNERS[f[7] % len(PARTNERS)],
                "weekday": WEEKDAYS[f[8] % len(WEEKDAYS)],
                "month": MONTHS[f[9] % len(MONTHS)],
                "q": 1 + f[10] % 4,
                "pct": int(pct[i]),
                "amount": int(amount[i]),
                "amount_m": int(amount_m[i]),
            }
            headline = options[int(template_pick[i] * len(options))].format(**fields)
            detail = f"{source} published the report at {hhmm} UTC."
            lead = SUMMARY_LEAD.get(pol) if lead_pick[i] and not hard else None
            summary = f"{lead.format(name=name)} {detail}" if lead else detail
        headlines.append(headline)
        summaries.append(summary)
        sources.append(source)
    return headlines, summaries, sources
