"""Finance and crypto headlines whose meaning follows a story's hidden polarity.

The wording is written independently of any scorer's word lists: facts are paraphrased the way a
newsroom would put them ("sales come in well ahead of what the Street pencilled in", "stops paying
out customer balances"), each in several syntactic frames (plain clause, colon headline, quote,
question, passive), often with a neutral distractor ("in early trade", "ahead of the Fed decision").
A story the draw marks hard is worded indirectly (the reader has to infer the direction: "orders for
the new model sell out within hours") or is a mixed story whose main fact carries the polarity beside
a minor fact pointing the other way. A test checks that no multi-word entry of the lexicon occurs
verbatim in any generated headline. Firms, exchanges and conferences are fictional; the URL host is
under the reserved ``.invalid`` domain.
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
PRODUCTS = ("flagship handset", "new platform", "next-generation processor", "premium plan")
PARTNERS = ("a large carmaker", "one of the biggest banks", "a federal agency", "a global retailer")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("March", "April", "May", "June", "September", "October")

# FACTS[asset_class][polarity][indirect] -> clauses (no subject-free fragments; {name} inside)
FACTS: dict[str, dict[int, dict[bool, tuple[str, ...]]]] = {
    "stock": {
        1: {
            False: (
                "{name} quarterly sales come in well ahead of what the Street pencilled in",
                "{name} {segment} revenue jumps {pct}% in the quarter, comfortably clearing forecasts",
                "{firm} moves {name} to its favoured list and sees about {pct}% upside",
                "{name} now expects the year to finish stronger than it told investors in {month}",
                "{name} to hand ${amount} billion back to holders through repurchases",
                "{name} lands a multi-year order from {partner}",
                "{name} stock climbs to its best level in months after the quarterly report",
                "{name} widens its profit margin for a third straight quarter",
                "Regulators sign off on {name} {product}",
            ),
            True: (
                "Orders for {name} {product} sell out within hours of opening",
                "{regulator} wraps up its look at {name} and takes no action",
                "{name} loss comes in smaller than Wall Street had braced for",
                "Wall Street warms to {name} as {segment} orders keep piling up",
                "{name} hires {pct} hundred engineers to keep up with {segment} demand",
                "Buyers snap up {name} shares after the morning wobble",
            ),
        },
        -1: {
            False: (
                "{name} quarterly sales fall short of what the Street pencilled in",
                "{firm} tells clients to avoid {name}, citing slowing growth",
                "{name} trims its forecast for the year as orders thin out",
                "{regulator} starts looking into how {name} books its sales",
                "{name} pulls {product} units from shelves over a defect",
                "{name} stock sinks to its weakest level since {month}",
                "{name} ordered to pay ${amount} billion in competition case",
                "{name} to let thousands of staff go as costs bite",
                "Short-selling fund questions {name} bookkeeping",
            ),
            True: (
                "Unsold {name} {product} units stack up at dealers",
                "{name} finance chief leaves abruptly weeks before results",
                "{partner} walks away from its contract with {name}",
                "Big funds quietly trim their {name} holdings",
                "{name} pushes back the {product} launch again, this time to {month}",
                "Investors head for the exits at {name} after a cautious call",
            ),
        },
        0: {
            False: (
                "{name} to speak at {conference} next week",
                "{name} submits its regular quarterly filing",
                "{name} sets Q{q} results call for {weekday}",
                "{name} appoints a new investor relations chief",
                "{name} to hold its yearly shareholder vote in {month}",
                "{name} keeps its quarterly payout at the usual level",
                "{name} releases its yearly environmental report",
            ),
            True: (
                "{name} trades flat as investors wait for {weekday} data",
                "{name} declines to comment on takeover chatter",
                "{name} repeats its yearly targets, giving traders nothing new",
            ),
        },
    },
    "crypto": {
        1: {
            False: (
                "Funds tracking {name} pull in ${amount_m} million in a single day",
                "{exchange} adds {ticker} trading with deep order books from the open",
                "{name} protocol upgrade activates without a hitch",
                "{name} climbs {pct}% as large wallets keep buying",
                "{firm} turns upbeat on {name} and sees fresh peaks ahead",
                "{name} on-chain transfers hit their busiest level yet",
                "Card network lets millions of shops take {name}",
                "More {name} is locked up for staking than ever before",
            ),
            True: (
                "{name} barely flinches after {exchange} glitch as buyers return",
                "{regulator} closes its file on a {name} issuer with no action",
                "Money leaving {name} funds slows to a trickle",
                "{name} holds its ground while the rest of the market bleeds",
                "Long-idle {name} wallets start buying again",
            ),
        },
        -1: {
            False: (
                "{exchange} stops paying out {name} balances after a breach",
                "{regulator} looks into trading firms active in {name}",
                "{name} drops {pct}% as money pours out of listed funds",
                "Attackers siphon ${amount_m} million out of a {name} bridge",
                "{firm} turns gloomy on {name} and warns of more losses",
                "{name} goes dark for hours as validators stall",
                "Big holders unload {name} as leveraged bets unwind",
            ),
            True: (
                "{name} upgrade delivers a fraction of the promised speed",
                "Interest in {name} funds dries up after weeks of hype",
                "Early {name} gains melt away as large wallets sell",
                "{name} slips back under the level traders watch after a brief pop",
                "{ticker} volumes fade days after {exchange} debut",
            ),
        },
        0: {
            False: (
                "{name} developers to hold an open call on {weekday}",
                "{name} foundation posts its quarterly accounts",
                "{exchange} revises {ticker} fee tiers",
                "{name} core team to speak at {conference}",
                "{name} test network paused for scheduled upkeep",
                "{name} governance forum debates a parameter tweak",
            ),
            True: (
                "{name} traders split as money flows both in and out of funds",
                "{name} drifts sideways as the market waits for data",
                "{exchange} explains its {ticker} payout policy and keeps it as is",
            ),
        },
    },
}

# minor facts for mixed stories, by their own polarity (noun phrases)
MINOR: dict[int, tuple[str, ...]] = {
    1: (
        "a small pickup in {segment} orders",
        "one upbeat analyst note",
        "a modest fee rebate",
        "a slight uptick in app downloads",
    ),
    -1: (
        "a brief {product} delay",
        "a one-off legal charge",
        "a small dip in {segment} orders",
        "a short website glitch",
    ),
}
MIXED_FRAMES = (
    "{main}, even with {minor}",
    "{main}; {minor} barely registers",
    "Even with {minor}, {main_lc}",
    "{main} as {minor} is brushed aside by traders",
)
FRAMES = (
    "{fact}",
    "{fact}",
    "{name}: {fact_rest}",
    "'{fact}', {source} reports",
    "{fact} - {source}",
    "Market talk: {fact}",
)
DISTRACTORS = (
    " in early trade",
    " ahead of the Fed decision",
    " on a busy {weekday}",
    " as the sector awaits {weekday} data",
    " while peers drift",
)
SUMMARY_LEAD = {
    1: "Traders read it as good for {name}.",
    -1: "Traders read it as bad for {name}.",
}
FOLLOW_UP_PREFIXES = ("Update: ", "Recap: ", "Follow-up: ", "Reminder: ")


def display_name(symbol: str) -> str:
    """A readable name for a symbol: known names, else the base ticker."""
    base = symbol.split("/")[0].upper()
    return NAMES.get(base, base)


def _lower_first(text: str, name: str) -> str:
    """Lower-case a clause's first word for use mid-sentence, unless it is a name (capitalised in the
    middle of a sentence too)."""
    first = text.split(" ", 1)[0]
    proper = text.startswith(name) or first in {f.split()[0] for f in (*FIRMS, *EXCHANGES, *REGULATORS)}
    return text if proper or not text else text[0].lower() + text[1:]


def _compose(kind: str, pol: int, hard: bool, fields: dict, picks) -> str:
    """One headline: a fact in a frame, maybe a distractor; a hard story is indirect or mixed."""
    name = fields["name"]
    indirect = hard and (pol == 0 or picks[0] < 0.5)
    options = FACTS[kind][pol][indirect]
    fact = options[int(picks[1] * len(options))].format(**fields)
    if hard and not indirect:  # mixed: the main fact plus a minor one pointing the other way
        minor = MINOR[-pol][int(picks[2] * len(MINOR[-pol]))].format(**fields)
        frame = MIXED_FRAMES[int(picks[3] * len(MIXED_FRAMES))]
        return frame.format(main=fact, main_lc=_lower_first(fact, name), minor=minor)
    if picks[4] < 0.35:
        fact += DISTRACTORS[int(picks[5] * len(DISTRACTORS))].format(**fields)
    frame = FRAMES[int(picks[6] * len(FRAMES))]
    rest = fact[len(name) :].strip() if fact.startswith(name + " ") else None
    if rest is None and "{fact_rest}" in frame:
        frame = "{fact}"
    return frame.format(fact=fact, fact_rest=rest, name=name, source=fields["source"])


def render_day(
    seed: int, symbol: str, asset_class: str, day: DayNarratives
) -> tuple[list[str], list[str], list[str]]:
    """Headline, summary and source of every story of one (symbol, day)."""
    rng = stream_rng(seed, symbol, day.ordinal, Stream.HEADLINES)
    n = len(day)
    # fixed draw order and sizes, so a day's wording never depends on anything but the day
    picks = rng.random((n, 7))
    fill_pick = rng.integers(0, 1 << 30, size=(n, 11))
    pct = rng.integers(3, 19, size=n)
    amount = rng.integers(2, 41, size=n)
    amount_m = rng.integers(40, 900, size=n)
    lead_pick = rng.random(n) < 0.5
    source_pick = rng.integers(0, len(SOURCES), size=n)

    name = display_name(symbol)
    ticker = symbol.split("/")[0].upper()
    kind = asset_class if asset_class in FACTS else "stock"
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
            f = fill_pick[i]
            fields = {
                "name": name,
                "ticker": ticker,
                "source": source,
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
            headline = _compose(kind, pol, hard, fields, picks[i])
            detail = f"{source} published the report at {hhmm} UTC."
            lead = SUMMARY_LEAD.get(pol) if lead_pick[i] and not hard else None
            summary = f"{lead.format(name=name)} {detail}" if lead else detail
        headlines.append(headline)
        summaries.append(summary)
        sources.append(source)
    return headlines, summaries, sources
