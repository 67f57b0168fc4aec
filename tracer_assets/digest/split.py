"""Split Telegram HTML into messages under a size limit.

Cuts fall on line boundaries; a line too long for one message is cut between words, and a word too
long between characters, but never inside a tag or an entity. Tags open at a cut are closed at the
end of the message and reopened at the start of the next, so every message is valid on its own.
Length is counted in UTF-16 code units (what Telegram counts), tags included, so it errs safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")
_TEXT = re.compile(r"[^<&\s]+|\s+")


@dataclass(frozen=True)
class _Token:
    kind: str  # "open", "close", "void", "entity", "text"
    text: str
    name: str = ""


def ulen(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _tokens(line: str) -> list[_Token]:
    out, pos = [], 0
    while pos < len(line):
        ch = line[pos]
        if ch == "<":
            m = _TAG.match(line, pos)
            if not m:
                raise ValueError(f"unescaped '<' in message text near {line[pos : pos + 20]!r}")
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            kind = "close" if closing else ("void" if attrs.rstrip().endswith("/") else "open")
            out.append(_Token(kind, m.group(0), name))
        elif ch == "&":
            m = _ENTITY.match(line, pos)
            if not m:
                raise ValueError(f"unescaped '&' in message text near {line[pos : pos + 20]!r}")
            out.append(_Token("entity", m.group(0)))
        else:
            m = _TEXT.match(line, pos)
            assert m is not None  # any other character starts a text run
            out.append(_Token("text", m.group(0)))
        pos = m.end()
    return out


def _step(stack: tuple[_Token, ...], tok: _Token) -> tuple[_Token, ...]:
    if tok.kind == "open":
        return (*stack, tok)
    if tok.kind == "close":
        if not stack or stack[-1].name != tok.name:
            raise ValueError(f"closing tag </{tok.name}> does not match the open tags")
        return stack[:-1]
    return stack


def _closing(stack: tuple[_Token, ...]) -> str:
    return "".join(f"</{t.name}>" for t in reversed(stack))


def _reopen(stack: tuple[_Token, ...]) -> str:
    return "".join(t.text for t in stack)


class _Chunker:
    def __init__(self, limit: int):
        self.limit = limit
        self.chunks: list[str] = []
        self.stack: tuple[_Token, ...] = ()
        self._start()

    def _start(self) -> None:
        self.parts = [_reopen(self.stack)]
        self.size = ulen(self.parts[0])
        self.has_content = False

    def fits(self, text: str, stack_after: tuple[_Token, ...]) -> bool:
        return self.size + ulen(text) + ulen(_closing(stack_after)) <= self.limit

    def add(self, text: str, stack_after: tuple[_Token, ...], content: bool = True) -> None:
        self.parts.append(text)
        self.size += ulen(text)
        self.stack = stack_after
        self.has_content = self.has_content or content

    def flush(self) -> None:
        if self.has_content:
            self.chunks.append("".join(self.parts) + _closing(self.stack))
            self._start()

    def add_line(self, line: str) -> None:
        toks = _tokens(line)
        after = self.stack
        for tok in toks:
            after = _step(after, tok)
        if not self.has_content and not line.strip():
            return  # no blank lines at the top of a message
        sep = "\n" if self.has_content else ""
        if self.fits(sep + line, after):
            self.add(sep + line, after)
            return
        self.flush()
        if self.fits(line, after):
            self.add(line, after)
            return
        for tok in toks:
            self._add_token(tok)

    def _add_token(self, tok: _Token) -> None:
        after = _step(self.stack, tok)
        if self.fits(tok.text, after):
            self.add(tok.text, after, content=tok.kind in ("text", "entity", "void"))
            return
        if tok.kind == "text" and tok.text.isspace():
            self.flush()  # a cut between words swallows the space
            return
        self.flush()
        if self.fits(tok.text, after):
            self.add(tok.text, after, content=tok.kind in ("text", "entity", "void"))
            return
        if tok.kind != "text":
            raise ValueError(f"message limit {self.limit} is too small for {tok.text[:40]!r} and its tags")
        rest = tok.text
        while rest:
            room = self.limit - self.size - ulen(_closing(self.stack))
            take, used = 0, 0
            while take < len(rest) and used + (2 if ord(rest[take]) > 0xFFFF else 1) <= room:
                used += 2 if ord(rest[take]) > 0xFFFF else 1
                take += 1
            if take == 0:
                if not self.has_content:
                    raise ValueError(f"message limit {self.limit} is too small for the open tags")
                self.flush()
                continue
            self.add(rest[:take], self.stack)
            rest = rest[take:]
            if rest:
                self.flush()


def split_message(html: str, limit: int) -> list[str]:
    """Messages of at most ``limit`` UTF-16 units each, cut on line boundaries where possible.

    Raises ValueError for text that is not well-formed Telegram HTML (unescaped '<' or '&',
    unbalanced tags) or a limit too small to hold the open tags.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    check_balanced(html)
    chunker = _Chunker(limit)
    for line in html.split("\n"):
        chunker.add_line(line)
    chunker.flush()
    return chunker.chunks


def check_balanced(html: str) -> None:
    """Raise ValueError unless every tag in ``html`` is closed in order and no '<'/'&' is unescaped."""
    stack: tuple[_Token, ...] = ()
    for tok in _tokens(html):
        stack = _step(stack, tok)
    if stack:
        raise ValueError(f"unclosed tags: {[t.name for t in stack]}")
