"""Offline polarity for finance and crypto headlines from hand-written word lists (no third-party lexicon).

How a headline is scored:

1. Lower-case tokens, articles dropped; punctuation that ends a clause (``, ; : — -``) is kept as a
   scope break.
2. Phrases ("beats estimates", "halts withdrawals", "record inflows") are matched longest first,
   then single words. Each match carries a weight (positive or negative, about 0.5 to 3).
3. Negation: a grammatical negator ("not", "no", "never", "fails to") flips the next sentiment term
   within ``negation_window`` tokens of the same clause; a removal verb ("avoids", "lifts", "ends",
   "denies", "rules out") flips only the term right after it ("lifts ban", "ends losing streak").
   A negator that flips nothing keeps its own weight, if it has one ("SEC denies ETF application").
4. Clause weighting: terms after "but", "however", "yet" count more (the later clause carries the news);
   terms after "despite", "even as", "although" count less (concessive clause). Damping words
   ("slightly", "modestly") halve the next term; intensifiers ("sharply", "record") multiply it, and
   "record" alone is mildly positive ("record reserves"). "up 5%" / "down 5%" weigh more than "up".
5. ``raw = sum(weights)``, ``polarity = tanh(raw / SCALE)``; ``label`` is neutral when
   ``|polarity| < neutral_band``. Confidence grows with the evidence (total weight) and with how
   one-sided it is: ``0.5 + 0.45 * (1 - exp(-(P + N) / EVIDENCE)) * |P - N| / (P + N)`` for a
   directional label, 0.5 for a neutral one.

The word lists below are this project's own. ``LEXICON_REVISION`` hashes them, so editing a list
changes the revision recorded in every score row and invalidates cached scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

from tracer_assets.providers.protocols import Polarity

SCALE = 2.0  # raw weight at which polarity reaches tanh(1) = 0.76
EVIDENCE = 1.5  # total weight at which confidence's evidence term reaches 1 - 1/e
AFTER_CONTRAST = 1.5  # weight of terms after "but" / "however"
BEFORE_CONTRAST = 0.6  # weight of terms before "but" once a contrast follows
CONCESSIVE = 0.35  # weight of terms after "despite" / "even as" (until the clause ends)
DAMPED = 0.5  # weight of a term right after "slightly", "modestly", ...
PERCENT_MOVE = 1.0  # weight of "up 5%" / "down 5%" (plain "up" / "down" weigh 0.5)


def _verb(base: str, third: str | None = None, past: str | None = None, ing: str | None = None) -> list[str]:
    third = third or base + "s"
    past = past or (base + "d" if base.endswith("e") else base + "ed")
    ing = ing or (base[:-1] + "ing" if base.endswith("e") else base + "ing")
    return [base, third, past, ing]


def _words(weight: float, *groups: list[str] | str) -> dict[str, float]:
    """``{word: weight}`` for every word of ``groups`` (see ``lexicon_overrides`` for repeats)."""
    out: dict[str, float] = {}
    for group in groups:
        for word in [group] if isinstance(group, str) else group:
            out[word] = weight
    return out


# ---- single words ---------------------------------------------------------------------------
WORDS: dict[str, float] = {
    # price action, up
    **_words(
        1.5,
        _verb("surge"),
        _verb("soar"),
        _verb("rocket"),
        _verb("skyrocket"),
        ["skyrockets", "rockets"],
        _verb("rally", "rallies", "rallied"),
        _verb("spike"),
        ["jumps", "jumped", "jump", "jumping"],
        ["zooms", "zoomed"],
        ["boom", "booms", "booming"],
    ),
    **_words(
        1.0,
        _verb("climb"),
        _verb("gain"),
        _verb("rise", "rises", "rose", "rising"),
        ["risen"],
        _verb("rebound"),
        _verb("recover"),
        ["recovery"],
        _verb("advance"),
        ["higher", "gains", "upside", "bullish", "bulls", "outperform", "outperforms", "outperformed"],
        _verb("outpace"),
        ["strong", "stronger", "strength", "robust", "solid", "upbeat", "optimism", "optimistic"],
        ["positive", "improve", "improves", "improved", "improving", "improvement"],
        ["boost", "boosts", "boosted", "boosting", "lifts", "lifted", "lift"],
        ["tops", "topped", "exceeds", "exceeded", "exceed", "exceeding", "beats", "beat", "beating"],
        ["upgrade", "upgrades", "upgraded"],
        ["profitable", "profitability", "grows", "grew", "expands", "expanded", "reclaims", "reclaimed"],
        ["expansion", "inflow", "inflows", "accumulation", "accumulate", "accumulates", "accumulating"],
        ["approval", "approve", "approves", "approved", "greenlight", "greenlights", "greenlit"],
        ["wins", "won", "win", "award", "awarded", "secures", "secured", "clinches", "lands"],
        ["partnership", "partners", "teams", "alliance", "adoption", "adopts", "adopted", "embraces"],
        ["buyback", "buybacks", "repurchase", "breakout", "uptrend", "momentum", "pop", "pops", "popped"],
        ["debut", "debuts", "mainnet"],
        ["resume", "resumes", "resumed", "reopens", "restores", "restored", "settles", "settled"],
        ["milestone", "record-high", "all-time", "surpasses", "surpassed", "eclipses", "overtakes"],
        ["tailwind", "tailwinds", "upbeat", "cheers", "welcome", "welcomes", "praises", "lifting"],
        ["raises", "raised", "hikes", "hiked", "increases", "increased", "doubles", "doubled"],
        ["triples", "tripled", "reaccelerates", "reaccelerated"],
        _verb("accelerate"),
        ["relief", "rescue", "rescued", "bailout", "stabilizes", "stabilises", "rebounds"],
        ["exonerated", "cleared", "dismissed", "wins", "victory", "favorable", "favourable"],
    ),
    **_words(
        0.5,
        ["up", "edges", "ticks", "steady", "resilient", "firm", "firms", "buy"],
        ["hire", "hires", "hiring", "invest", "invests", "investment", "backs", "backed", "funding"],
        ["raise", "airdrop", "staking", "integration", "integrates", "support", "supports", "acquire"],
        ["acquires", "acquired", "acquisition", "deal", "contract", "order", "orders"],
        ["listing", "lists", "listed", "launch", "launches", "launched", "unveils", "unveiled"],
    ),
    # price action, down
    **_words(
        -1.5,
        _verb("plunge"),
        _verb("plummet"),
        _verb("tumble"),
        _verb("crash", "crashes"),
        _verb("collapse"),
        _verb("tank"),
        _verb("crater"),
        _verb("nosedive"),
        ["sinks", "sank", "sink", "sinking", "sunk", "slumps", "slumped", "slump", "slumping"],
        ["bloodbath", "rout", "meltdown", "freefall", "free-fall", "selloff", "sell-off", "capitulation"],
        ["hack", "hacked", "hacks", "exploit", "exploited", "exploits", "drained", "heist", "stolen"],
        ["bankruptcy", "bankrupt", "insolvent", "insolvency", "liquidation", "default", "defaults"],
        ["defaulted", "fraud", "fraudulent", "ponzi", "scam", "depeg", "depegs", "depegged", "depegging"],
        ["collapse", "collapses", "collapsed", "implodes", "imploded", "wipeout", "wiped"],
        ["delist", "delists", "delisted", "delisting", "halts", "halted", "freezes", "froze", "frozen"],
    ),
    **_words(
        -1.0,
        _verb("fall", "falls", "fell", "falling"),
        ["fallen"],
        _verb("drop", "drops", "dropped", "dropping"),
        _verb("slide", "slides", "slid", "sliding"),
        _verb("decline"),
        _verb("slip", "slips", "slipped", "slipping"),
        _verb("sag"),
        _verb("shed", "sheds", "shed", "shedding"),
        _verb("retreat"),
        _verb("weaken"),
        ["lower", "losses", "loss", "lose", "loses", "lost", "losing", "bearish", "bears", "downside"],
        ["weak", "weaker", "weakness", "soft", "softer", "sluggish", "disappointing", "disappoints"],
        ["disappointed", "disappointment", "miss", "misses", "missed", "missing", "shortfall", "shortfalls"],
        ["downgrade", "downgrades", "downgraded", "underperform", "underperforms", "underperformed"],
        ["cut", "cuts", "cutting", "slash", "slashes", "slashed", "lowers", "lowered", "trims", "trimmed"],
        ["warns", "warned", "warning", "warn", "alarm", "fears", "fear", "worries", "worry", "concern"],
        ["concerns", "jitters", "turmoil", "panic", "uncertainty", "volatile", "pressure", "pressured"],
        ["lawsuit", "lawsuits", "sues", "sued", "suing", "probe", "probes", "investigation", "investigates"],
        ["investigating", "subpoena", "subpoenaed", "charges", "charged", "indicted", "indictment"],
        ["fine", "fined", "penalty", "penalties", "sanction", "sanctions", "sanctioned", "crackdown"],
        ["ban", "bans", "banned", "outlaws", "prohibits", "reject", "rejects", "rejected", "rejection"],
        ["delay", "delays", "delayed", "postpones", "postponed", "suspends", "suspended", "suspension"],
        ["layoffs", "layoff", "redundancies", "outage", "outages", "breach", "leak", "vulnerability"],
        ["recall", "recalls", "recalled", "glitch", "bug", "downtime", "outflow", "outflows", "exodus"],
        ["liquidated", "liquidations", "dumps", "dumped", "dump", "dumping", "unwinds", "headwind"],
        ["headwinds", "slowdown", "slows", "slowed", "slowing", "stalls", "stalled", "shrinks", "shrank"],
        ["contraction", "contracts", "recession", "downturn", "bust", "struggles", "struggling", "struggle"],
        ["resigns", "resigned", "resignation", "ousted", "exits", "quits", "departs", "departure", "fired"],
        ["scandal", "misconduct", "manipulation", "laundering", "violation", "violations", "illegal"],
        ["restatement", "restates", "impairment", "writedown", "write-down", "writeoff", "write-off"],
        ["dilution", "dilutive", "downtrend", "breakdown", "overvalued", "bubble", "risk", "risks"],
        ["threat", "threatens", "threatened", "attack", "attacked", "lawsuit", "accused", "accuses"],
        ["short", "shorts", "shorting", "underwater", "negative", "deficit"],
        [
            "strike",
            "strikes",
            "glut",
            "slower",
            "shrink",
            "wrongdoing",
            "restrictions",
            "shortage",
            "shortages",
        ],
    ),
    **_words(
        -0.5,
        ["down", "dips", "dipped", "dip", "eases", "eased", "softens", "softened", "pullback"],
        ["sell", "selling", "cautious", "caution", "doubts", "doubt", "questions", "scrutiny", "wary"],
        ["pause", "pauses", "paused", "lags", "lagging", "lagged", "flat", "cools", "cooled", "cooling"],
    ),
}

# ---- phrases (take precedence over their words) ------------------------------------------------
PHRASES: dict[str, float] = {
    # earnings and guidance
    "beats estimates": 2.0,
    "beat estimates": 2.0,
    "beats expectations": 2.0,
    "tops estimates": 2.0,
    "tops expectations": 2.0,
    "above expectations": 1.5,
    "above estimates": 1.5,
    "better than expected": 1.5,
    "better-than-expected": 1.5,
    "stronger than expected": 1.5,
    "stronger-than-expected": 1.5,
    "misses estimates": -2.0,
    "missed estimates": -2.0,
    "misses expectations": -2.0,
    "below expectations": -1.5,
    "below estimates": -1.5,
    "worse than expected": -1.5,
    "worse-than-expected": -1.5,
    "weaker than expected": -1.5,
    "weaker-than-expected": -1.5,
    "in line with expectations": 0.0,
    "in line with estimates": 0.0,
    "raises guidance": 2.0,
    "raised guidance": 2.0,
    "raises outlook": 2.0,
    "raises forecast": 2.0,
    "lifts guidance": 2.0,
    "lifts outlook": 2.0,
    "boosts outlook": 2.0,
    "raises full-year": 2.0,
    "cuts guidance": -2.0,
    "cut guidance": -2.0,
    "cuts outlook": -2.0,
    "cuts forecast": -2.0,
    "lowers guidance": -2.0,
    "lowers outlook": -2.0,
    "lowers forecast": -2.0,
    "slashes guidance": -2.5,
    "slashes outlook": -2.5,
    "withdraws guidance": -2.0,
    "pulls guidance": -2.0,
    "profit warning": -2.5,
    "reaffirms guidance": 0.5,
    "maintains guidance": 0.3,
    "record revenue": 2.0,
    "record profit": 2.0,
    "record earnings": 2.0,
    "record quarter": 2.0,
    "record sales": 2.0,
    "record high": 2.0,
    "record highs": 2.0,
    "all-time high": 2.0,
    "all-time highs": 2.0,
    "new high": 1.5,
    "52-week high": 1.5,
    "record low": -2.0,
    "record lows": -2.0,
    "52-week low": -1.5,
    "multi-year low": -1.5,
    "record inflows": 2.5,
    "record outflows": -2.5,
    "net inflows": 1.5,
    "net outflows": -1.5,
    "raises price target": 1.5,
    "raised price target": 1.5,
    "lifts price target": 1.5,
    "boosts price target": 1.5,
    "cuts price target": -1.5,
    "lowers price target": -1.5,
    "slashes price target": -2.0,
    "price target cut": -1.5,
    "price target raised": 1.5,
    "dividend cut": -2.0,
    "cuts dividend": -2.0,
    "suspends dividend": -2.0,
    "dividend hike": 1.5,
    "raises dividend": 1.5,
    "hikes dividend": 1.5,
    "special dividend": 1.5,
    "share buyback": 1.5,
    "stock buyback": 1.5,
    "going concern": -2.5,
    "cuts jobs": -1.5,
    "cut jobs": -1.5,
    "job cuts": -1.5,
    "cuts costs": 0.5,
    "cost cuts": 0.3,
    "cuts rates": 1.0,
    "rate cut": 1.0,
    "rate cuts": 1.0,
    "rate hike": -1.0,
    "rate hikes": -1.0,
    "hikes rates": -1.0,
    "raises rates": -1.0,
    "cuts fees": 1.0,
    "cuts prices": -0.5,
    "price cuts": -0.5,
    "margin squeeze": -1.5,
    "margin expansion": 1.5,
    "cash burn": -1.0,
    # analyst actions
    "upgraded to buy": 2.0,
    "upgraded to outperform": 2.0,
    "upgraded to overweight": 2.0,
    "downgraded to sell": -2.0,
    "downgraded to underperform": -2.0,
    "downgraded to underweight": -2.0,
    "downgraded to neutral": -1.0,
    "downgraded to hold": -1.0,
    "initiates coverage": 0.0,
    "initiated at buy": 1.5,
    "initiated at sell": -1.5,
    "strong buy": 1.5,
    "buy rating": 1.0,
    "sell rating": -1.0,
    # crypto and markets
    "halts withdrawals": -3.0,
    "halt withdrawals": -3.0,
    "pause withdrawals": -3.0,
    "suspend withdrawals": -3.0,
    "halted withdrawals": -3.0,
    "pauses withdrawals": -3.0,
    "paused withdrawals": -3.0,
    "suspends withdrawals": -3.0,
    "freezes withdrawals": -3.0,
    "freezes accounts": -2.0,
    "resumes withdrawals": 2.0,
    "reopens withdrawals": 2.0,
    "bank run": -2.5,
    "rug pull": -3.0,
    "loses peg": -2.5,
    "regains peg": 1.5,
    "short squeeze": 1.5,
    "short sellers": -0.5,
    "long liquidations": -1.5,
    "short liquidations": 1.0,
    "whale accumulation": 1.5,
    "whales accumulate": 1.5,
    "whales dump": -1.5,
    "etf approval": 2.5,
    "approves etf": 2.5,
    "etf inflows": 1.5,
    "etf outflows": -1.5,
    "legal tender": 1.5,
    "mainnet launch": 1.5,
    "network outage": -2.0,
    "chain halt": -2.5,
    "smart contract exploit": -2.5,
    "security breach": -2.0,
    "data breach": -2.0,
    "class action": -1.5,
    "sec sues": -2.0,
    "sec charges": -2.0,
    "wells notice": -2.0,
    "ceases operations": -2.5,
    "shuts down": -2.0,
    "shutting down": -2.0,
    "winds down": -2.0,
    "files for bankruptcy": -3.0,
    "chapter 11": -2.5,
    "emerges from bankruptcy": 1.5,
    "cleared by": 1.5,
    "wins approval": 2.0,
    "gets approval": 2.0,
    "receives approval": 2.0,
    "fda approval": 2.0,
    "fda approves": 2.0,
    "fda rejects": -2.5,
    "complete response letter": -2.0,
    "trial fails": -2.5,
    "trial succeeds": 2.0,
    "met primary endpoint": 2.0,
    "meets primary endpoint": 2.0,
    "missed primary endpoint": -2.5,
    "misses primary endpoint": -2.5,
    "strategic alternatives": -1.0,
    "going private": 1.0,
    "takeover bid": 1.5,
    "buyout offer": 1.5,
    "acquisition offer": 1.5,
    "deal collapses": -2.0,
    "deal falls through": -2.0,
    "merger called off": -2.0,
    "blocks merger": -2.0,
    "blocks deal": -2.0,
    "steps down": -1.0,
    "step down": -1.0,
    "sell-side": 0.0,
    "in talks": 0.5,
    "under pressure": -1.0,
    "under investigation": -1.5,
    "sell off": -1.5,
    "sells off": -1.5,
    "buy dip": 0.5,  # articles are dropped before matching
    "dead cat bounce": -1.0,
    "death cross": -1.5,
    "golden cross": 1.5,
    "risk-off": -1.0,
    "risk-on": 1.0,
    "safe haven": 0.0,
    "flash crash": -2.5,
    "market share": 0.0,
    "top pick": 1.5,
    "short report": -2.0,
    "short seller": -1.0,
    "not as bad as feared": 1.5,
    "better than feared": 1.5,
    "less than feared": 1.0,
    "worse than feared": -2.0,
    "no change": 0.0,
    "holds steady": 0.0,
    "little changed": 0.0,
    "unchanged": 0.0,
    "trading halt": -1.0,
    "halted pending news": 0.0,
    "record volume": 0.5,
    "supply chain": 0.0,
    "record date": 0.0,
    "order cuts": -1.5,
    "raise price target": 1.5,
    "trade down": 0.0,
    "turn cautious": -1.0,
    "turns cautious": -1.0,
    "on record": 0.0,
    "loses market share": -1.5,
    "gains market share": 1.5,
    "higher rates": -1.0,
    "higher for longer": -1.0,
    "lower rates": 1.0,
    "gives back gains": -1.5,
    "pares gains": -1.0,
    "erases gains": -1.5,
    "margins narrow": -1.0,
    "margins shrink": -1.0,
    "strikes deal": 1.0,
    "inflation cools": 1.0,
    "inflation eases": 1.0,
    "hotter than expected": -1.0,
}

# Words that flip the next sentiment term, with their own weight (used only when nothing follows to flip)
# and their reach in tokens (None: the negation window). Verbs reach only the very next token, so
# "lifts ban" flips "ban" but "Bitcoin drops after hack" does not flip "hack".
NEGATORS: dict[str, tuple[float, int | None]] = {
    **{w: (0.0, None) for w in ("not", "no", "never", "nor", "without", "isn't", "aren't", "wasn't")},
    **{w: (0.0, None) for w in ("weren't", "won't", "doesn't", "don't", "didn't", "can't", "cannot")},
    **{w: (0.0, None) for w in ("hasn't", "haven't", "neither")},
    "fails": (-1.0, None),
    "failed": (-1.0, None),
    "fail": (-1.0, None),
    "unable": (-0.5, None),
    "denies": (-0.5, 1),
    "denied": (-0.5, 1),
    "deny": (-0.5, 1),
    "avoids": (0.5, 1),
    "avoided": (0.5, 1),
    "averts": (0.5, 1),
    "averted": (0.5, 1),
    "dodges": (0.5, 1),
    "escapes": (0.5, 1),
    "dismisses": (0.0, 1),
    "refutes": (0.0, 1),
    "ends": (0.0, 1),
    "ended": (0.0, 1),
    "halts": (-1.5, 1),
    "stops": (-0.5, 1),
    "eases": (-0.5, 1),
    "lifts": (1.0, 1),
    "lifted": (1.0, 1),
    "drops": (-1.0, 1),
    "dropped": (-1.0, 1),
    "scraps": (-0.5, 1),
    "scrapped": (-0.5, 1),
    "reverses": (0.0, 1),
    "settles": (1.0, 1),
    "resolves": (0.5, 1),
}
# Multi-word negators, matched before words: "rules out layoffs" flips "layoffs".
NEGATOR_PHRASES: dict[str, tuple[float, int | None]] = {
    "no longer": (0.0, None),
    "rules out": (0.0, 1),
    "ruled out": (0.0, 1),
    "fails to": (-1.0, None),
    "failed to": (-1.0, None),
    "unable to": (-0.5, None),
    "lack of": (-0.5, 1),
    "free of": (0.0, 1),
    "shrugs off": (0.5, 2),
    "brushes off": (0.5, 2),
    "far from": (0.0, None),
    "pushes back against": (0.0, 2),
    "wins dismissal of": (1.0, 2),
}
# These flip only a bad thing ("lifts ban", "eases concerns"); before a good one they just add their
# own weight ("lifts dividend").
FLIP_ONLY_NEGATIVE = {"lifts", "lifted", "eases"}
# Multiply the next sentiment term within two tokens; alone they add their own weight ("record reserves").
INTENSIFIERS: dict[str, tuple[float, float]] = {
    "record": (1.5, 1.0),
    "sharply": (1.5, 0.0),
    "sharp": (1.5, 0.0),
    "steep": (1.5, 0.0),
    "massive": (1.5, 0.0),
    "huge": (1.5, 0.0),
    "biggest": (1.5, 0.0),
    "heavy": (1.3, 0.0),
    "deep": (1.3, 0.0),
}
CONTRAST = {"but", "however", "yet", "though", "nonetheless", "nevertheless", "still"}
CONCESSIVE_MARKERS = {"despite", "although", "notwithstanding"}
CONCESSIVE_PHRASES = {"even as", "even though", "in spite of"}
DAMPERS = {"slightly", "modestly", "marginally", "somewhat", "mildly", "partly", "partially", "edges"}
ARTICLES = {"a", "an", "the"}  # dropped before matching, so they never use up a negator's reach
CLAUSE_BREAKS = {",", ";", ":", "—", "–", "-", "|", "(", ")", "?", "!"}

_TOKEN = re.compile(r"[a-z0-9$]+(?:[-'.][a-z0-9]+)*%?|[,;:—–|()?!]|(?<=\s)-(?=\s)")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens plus clause-break punctuation."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _TOKEN.findall(f" {t} ")


def _phrase_table(phrases: dict) -> dict[tuple[str, ...], object]:
    return {tuple(p.split()): w for p, w in phrases.items()}


_PHRASES = _phrase_table(PHRASES)
_NEG_PHRASES = _phrase_table(NEGATOR_PHRASES)
_CONC_PHRASES = {tuple(p.split()) for p in CONCESSIVE_PHRASES}
_MAX_N = max(len(k) for k in (*_PHRASES, *_NEG_PHRASES, *_CONC_PHRASES))


def lexicon_revision() -> str:
    """SHA-256 (12 hex) of every word list and constant: any edit gives a new revision."""
    tables = [
        WORDS,
        PHRASES,
        NEGATORS,
        NEGATOR_PHRASES,
        sorted(CONTRAST),
        sorted(CONCESSIVE_MARKERS),
        sorted(CONCESSIVE_PHRASES),
        sorted(DAMPERS),
        sorted(FLIP_ONLY_NEGATIVE),
        sorted(ARTICLES),
        INTENSIFIERS,
        [SCALE, EVIDENCE, AFTER_CONTRAST, BEFORE_CONTRAST, CONCESSIVE, DAMPED, PERCENT_MOVE],
    ]
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:12]


LEXICON_REVISION = lexicon_revision()


@dataclass(frozen=True)
class _Term:
    kind: str  # "term" | "neg" | "intensifier" | "contrast" | "concessive" | "damper" | "break"
    start: int  # token index of the term's first token
    end: int  # token index of its last token
    weight: float = 0.0
    reach: int | None = None  # negators: tokens they reach (None: the negation window)
    factor: float = 1.0  # intensifiers: multiplier of the next term
    token: str = ""  # negators: the word or phrase


def _segment(tokens: list[str]) -> list[_Term]:
    """Tokens to terms, phrases first (longest match wins)."""
    out: list[_Term] = []
    i = 0
    while i < len(tokens):
        n_matched = 0
        for n in range(min(_MAX_N, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + n])
            end = i + n - 1
            if key in _PHRASES:
                out.append(_Term("term", i, end, _PHRASES[key]))
            elif key in _NEG_PHRASES:
                weight, reach = _NEG_PHRASES[key]
                out.append(_Term("neg", i, end, weight, reach, token=" ".join(key)))
            elif key in _CONC_PHRASES:
                out.append(_Term("concessive", i, end))
            else:
                continue
            n_matched = n
            break
        if n_matched:
            i += n_matched
            continue
        tok = tokens[i]
        if tok in CLAUSE_BREAKS:
            out.append(_Term("break", i, i))
        elif tok in CONTRAST:
            out.append(_Term("contrast", i, i))
        elif tok in CONCESSIVE_MARKERS:
            out.append(_Term("concessive", i, i))
        elif tok in NEGATORS:
            weight, reach = NEGATORS[tok]
            out.append(_Term("neg", i, i, weight, reach, token=tok))
        elif tok in INTENSIFIERS:
            factor, weight = INTENSIFIERS[tok]
            out.append(_Term("intensifier", i, i, weight, factor=factor))
        elif tok in DAMPERS:
            out.append(_Term("damper", i, i))
        elif tok in ("up", "down") and i + 1 < len(tokens) and tokens[i + 1].endswith("%"):
            out.append(_Term("term", i, i + 1, PERCENT_MOVE if tok == "up" else -PERCENT_MOVE))
            i += 1
        elif tok in WORDS:
            out.append(_Term("term", i, i, WORDS[tok]))
        i += 1
    return out


def raw_weights(text: str, negation_window: int = 3) -> list[float]:
    """The signed contribution of every sentiment term in ``text``, after negation and clause weighting."""
    contributions: list[tuple[float, int]] = []  # (weight, number of contrast words before it)
    pending: _Term | None = None  # a negator waiting for a term to flip
    boost: _Term | None = None  # an intensifier waiting for a term to multiply
    concessive = damp = False
    contrasts = 0

    def add(weight: float) -> None:
        if damp:
            weight *= DAMPED
        if concessive:
            weight *= CONCESSIVE
        if weight:
            contributions.append((weight, contrasts))

    def release() -> None:  # a negator or intensifier that found no term keeps its own weight
        nonlocal pending, boost
        for waiting in (pending, boost):
            if waiting is not None:
                add(waiting.weight)
        pending = boost = None

    for t in _segment([tok for tok in tokenize(text) if tok not in ARTICLES]):
        if t.kind in ("break", "contrast"):
            release()
        if pending is not None:
            reach = pending.reach if pending.reach is not None else negation_window
            if t.start - pending.end > reach:
                add(pending.weight)
                pending = None
        if boost is not None and t.start - boost.end > 2:
            add(boost.weight)
            boost = None
        if t.kind == "break":
            concessive = damp = False
        elif t.kind == "contrast":
            contrasts += 1
            concessive = False
        elif t.kind == "concessive":
            concessive = True
        elif t.kind == "damper":
            damp = True
        elif t.kind == "intensifier":
            if boost is not None:
                add(boost.weight)
            boost = t
        elif t.kind == "neg":
            if pending is not None:
                add(pending.weight)
            pending = t
        else:
            weight = t.weight * (boost.factor if boost is not None else 1.0)
            boost = None
            if pending is not None:
                flip = weight < 0 or pending.token not in FLIP_ONLY_NEGATIVE
                if flip:
                    weight = -weight
                else:
                    add(pending.weight)
                pending = None
            add(weight)
            damp = False
    release()
    if contrasts:
        return [w * (AFTER_CONTRAST if c == contrasts else BEFORE_CONTRAST) for w, c in contributions]
    return [w for w, _ in contributions]


def score_text(text: str, neutral_band: float, negation_window: int = 3) -> Polarity:
    """Polarity, label and confidence of one text (see the module docstring for the formulas)."""
    weights = raw_weights(text or "", negation_window)
    pos = sum(w for w in weights if w > 0)
    neg = -sum(w for w in weights if w < 0)
    polarity = math.tanh((pos - neg) / SCALE)
    if abs(polarity) < neutral_band or pos + neg == 0:
        return Polarity(label="neutral", polarity=polarity, confidence=0.5)
    evidence = 1.0 - math.exp(-(pos + neg) / EVIDENCE)
    agreement = abs(pos - neg) / (pos + neg)
    label = "positive" if polarity > 0 else "negative"
    return Polarity(label=label, polarity=polarity, confidence=0.5 + 0.45 * evidence * agreement)


class LexiconScorer:
    """The offline default scorer (``TRACER_POLARITY_MODEL=lexicon``)."""

    model_id = "lexicon"

    def __init__(self, neutral_band: float = 0.3, negation_window: int = 3):
        self.neutral_band = neutral_band
        self.negation_window = negation_window
        self.model_revision = f"{lexicon_revision()}-b{neutral_band:g}-w{negation_window}"

    def score(self, texts: list[str]) -> list[Polarity]:
        return [score_text(t, self.neutral_band, self.negation_window) for t in texts]
