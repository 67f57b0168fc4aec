"""Progress on long commands (terminal only) and the digest as terminal text."""

from __future__ import annotations

import io

from rich.console import Console

from tracer_assets.digest.terminal import digest_text
from tracer_assets.progress import Reporter, is_terminal


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_not_a_terminal(capsys):
    out = io.StringIO()
    assert not is_terminal(out)
    with Reporter(stream=out) as rep, rep.steps("work", total=3) as steps:
        assert not rep.enabled
        steps.running("first")
        steps.advance(what="second")
        steps.advance(2)
    assert out.getvalue() == ""
    assert steps.done == 3
    rep.print("a line")  # without bars, lines still print plainly
    assert capsys.readouterr().out == "a line\n"


def test_progress_on_a_terminal_names_the_step_and_shows_an_eta():
    out = _Tty()
    with Reporter(stream=out) as rep, rep.steps("[1/2] daily", total=4) as steps:
        assert rep.enabled
        steps.running("bars")
        steps.advance(what="signals")
    text = out.getvalue()
    assert "[1/2] daily" in text and "eta" in text
    assert "1/4" in text


def test_digest_renders_bold_without_tags_and_unescapes():
    html = '<b>Tracer digest</b>\n• <b>ETH/USD</b> — Short &amp; hold [x] <a href="https://t.me/x">more</a>'
    text = digest_text(html)
    assert str(text) == "Tracer digest\n• ETH/USD — Short & hold [x] more (https://t.me/x)"
    bold = [str(text)[span.start : span.end] for span in text.spans if "bold" in str(span.style)]
    assert bold == ["Tracer digest", "ETH/USD"]
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard")
    console.print(text)
    rendered = console.file.getvalue()
    assert "\x1b[1m" in rendered and "<b>" not in rendered
