"""Numbers, dates and probabilities in words, for text that must carry no digit at all."""

from __future__ import annotations

import re

import pandas as pd

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_DIGIT_NAMES = {str(i): _ONES[i] for i in range(10)}
# a number with optional thousands commas and decimals, then an optional ordinal suffix or percent sign
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(%)?")


def number_to_words(n: int) -> str:
    """Cardinal words for a non-negative integer: 2024 -> 'two thousand twenty-four'."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_to_words(rest) if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return number_to_words(head) + " " + name + (" " + number_to_words(rest) if rest else "")
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """Ordinal words: 4 -> 'fourth', 21 -> 'twenty-first', 30 -> 'thirtieth'."""
    words = number_to_words(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return head + sep + last


_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _day_words(iso: str) -> str:
    """'2026-11-29' -> 'Sunday the twenty-ninth of November' (a date reads as a date, not a sum)."""
    try:
        ts = pd.Timestamp(iso)
    except ValueError:
        return iso
    return f"{ts.day_name()} the {ordinal_words(ts.day)} of {ts.month_name()}"


def spell_numbers(text: str) -> str:
    """Replace every number in ``text`` by words ('$100,000' -> '$one hundred thousand', '3.5%' ->
    'three point five percent', 'June 30th' -> 'June thirtieth'); any digit left is spelled alone."""

    def repl(m: re.Match[str]) -> str:
        whole = int(m.group(1).replace(",", ""))
        if m.group(3) and not m.group(2):
            words = ordinal_words(whole)
        else:
            words = number_to_words(whole)
            if m.group(2):
                words += " point " + " ".join(_DIGIT_NAMES[d] for d in m.group(2))
            if m.group(3):
                words += m.group(3)
        return words + (" percent" if m.group(4) else "")

    out = _ISO_DATE.sub(lambda m: _day_words(m.group(0)), text)
    out = _NUMBER.sub(repl, out)
    return "".join(_DIGIT_NAMES.get(ch, "") if ch.isdigit() else ch for ch in out)


_ASCII_DIGIT = re.compile(r"[0-9]")


def has_digit(text: str) -> bool:
    if text.isascii():
        return _ASCII_DIGIT.search(text) is not None
    return any(map(str.isdigit, text))


def hours_words(hours: float) -> str:
    """'twelve hours', 'one hour', 'two days' for whole days past a day."""
    h = round(float(hours))
    if h >= 48 and h % 24 == 0:
        days = h // 24
        return f"{number_to_words(days)} days"
    return "one hour" if h == 1 else f"{number_to_words(h)} hours"


def clock_words(ts: pd.Timestamp) -> str:
    """A UTC time of day in words: 'fourteen hundred UTC', 'nine oh five UTC', 'midnight UTC'."""
    ts = pd.Timestamp(ts).tz_convert("UTC")
    if ts.hour == 0 and ts.minute == 0:
        return "midnight UTC"
    hour = number_to_words(ts.hour)
    if ts.minute == 0:
        return f"{hour} hundred UTC"
    minute = number_to_words(ts.minute)
    return f"{hour} {'oh ' if ts.minute < 10 else ''}{minute} UTC"


def date_words(ts: pd.Timestamp) -> str:
    """'Tuesday the fourth of June, fourteen hundred UTC' (no year, no digit)."""
    ts = pd.Timestamp(ts).tz_convert("UTC")
    return f"{ts.day_name()} the {ordinal_words(ts.day)} of {ts.month_name()}, {clock_words(ts)}"


def probability_words(prob: float, edges: list[float]) -> str:
    """A probability as odds in words, split at ``edges`` (four edges give five words)."""
    names = ["very unlikely", "unlikely", "a toss-up", "likely", "very likely"]
    if len(edges) != len(names) - 1:
        raise ValueError(f"probability word edges need {len(names) - 1} values, got {len(edges)}")
    if prob != prob:  # NaN
        return "unknown"
    for edge, name in zip(edges, names, strict=False):
        if prob < edge:
            return name
    return names[-1]
