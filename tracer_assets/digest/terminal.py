"""The digest as a person reads it in a terminal: Telegram HTML turned into styled rich text.

The lake keeps the HTML (Telegram's parse mode); only the terminal rendering differs: ``<b>`` becomes
bold, ``<i>`` italic, links show their address, entities are unescaped and no tag is printed raw.
"""

from __future__ import annotations

from html.parser import HTMLParser

from rich.text import Text

_STYLES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "code": "cyan"}


class _ToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = Text()
        self._styles: list[str] = []
        self._href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _STYLES:
            self._styles.append(_STYLES[tag])
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))
            self._styles.append("underline")
        elif tag == "br":
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if (tag in _STYLES or tag == "a") and self._styles:
            self._styles.pop()
        if tag == "a" and self._href:
            href = self._href.pop()
            if href:
                self.text.append(f" ({href})", style="dim")

    def handle_data(self, data: str) -> None:
        self.text.append(data, style=" ".join(self._styles) or None)


def digest_text(html: str) -> Text:
    """Styled text of a Telegram-HTML digest (``str(result)`` is the plain text)."""
    parser = _ToText()
    parser.feed(html)
    parser.close()
    return parser.text
