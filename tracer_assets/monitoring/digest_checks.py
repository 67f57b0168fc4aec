"""Digest self-checks: the chat text a reader gets is whole, spelled out and matches its rows."""

from __future__ import annotations

import re

import pandas as pd

TITLE = "<b>Tracer digest</b>"
# section rows -> the heading the chat text must then carry
SECTION_HEADINGS = {
    "top": "<b>Top signals</b>",
    "alternate": "<b>Alternates</b>",
    "polymarket": "<b>Prediction markets</b>",
}
QUIET_LINE = "No signal passed the checks"
DEGRADED_LINE = "Heads-up: this digest was built from degraded inputs"
_DIGIT = re.compile(r"\d")


def digest_problems(rows: pd.DataFrame) -> list[str]:
    """Problems of one day's digest rows (one ``section='digest'`` row holding the whole text)."""
    if not len(rows):
        return ["no digest rows"]
    whole = rows[rows["section"] == "digest"]
    if len(whole) != 1:
        return [f"{len(whole)} whole-text rows (section='digest'), expected 1"]
    text = str(whole["text"].iloc[0] or "")
    problems = []
    digits = _DIGIT.findall(text)
    if digits:
        at = _DIGIT.search(text).start()
        problems.append(
            f"chat text holds {len(digits)} digits (first near {text[max(0, at - 20) : at + 20]!r})"
        )
    if not text.startswith(TITLE):
        problems.append("chat text does not start with the title")
    sections = set(rows["section"].dropna())
    for section, heading in SECTION_HEADINGS.items():
        if (section in sections) != (heading in text):
            state = "has rows but no heading" if section in sections else "has a heading but no rows"
            problems.append(f"section {section!r} {state}")
    if "top" not in sections and QUIET_LINE not in text:
        problems.append("no top signals and no line saying so")
    degraded = bool(rows["degraded"].fillna(False).astype(bool).any()) if "degraded" in rows else False
    if degraded != (DEGRADED_LINE in text):
        problems.append("degraded flag and the heads-up line disagree")
    entries = rows[(rows["section"] != "digest") & rows["text"].fillna("").astype(str).ne("")]
    missing = [t for t in entries["text"].astype(str) if t not in text]
    if missing:
        problems.append(f"{len(missing)} entries missing from the chat text")
    return problems


def digest_day_problems(digest: pd.DataFrame) -> dict[str, list[str]]:
    """{day: problems} for every day (UTC date of ``event_ts``) in ``digest``."""
    if not len(digest):
        return {}
    days = pd.to_datetime(digest["event_ts"], utc=True).dt.strftime("%Y-%m-%d")
    return {day: digest_problems(digest[days.values == day]) for day in sorted(set(days))}
