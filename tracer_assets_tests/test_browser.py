"""What a person sees: the Dagster UI and the HTML report, in a real browser (Playwright + Chromium).

One short demo fills a temporary lake and instance; ``dagster dev`` serves it on a free loopback port;
Chromium (Debian's, at /usr/bin/chromium) checks the asset graph, an asset page, an asset check and the
report. Screenshots land in ``artifacts/screenshots/`` (git-ignored; CI keeps it).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from tracer_assets.cli import main as tracer_main
from tracer_assets.definitions import defs
from tracer_assets.demo import run_demo
from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import COLUMN_DOCS
from tracer_assets.progress import Reporter
from tracer_assets.report.build import SECTIONS
from tracer_assets_tests.conftest import isolated_session

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DEMO_DAYS = 3
UI_TIMEOUT_MS = 30_000
SERVER_START_S = 120
STOP_S = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_dagster_dev(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port)]
        + ["-m", "tracer_assets.definitions"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # own process group, SIGINT at its default: Dagster maps SIGTERM onto SIGINT's handler
        preexec_fn=lambda: (os.setpgrp(), signal.signal(signal.SIGINT, signal.SIG_DFL)),
    )


def _wait_until_serving(proc: subprocess.Popen, base: str) -> None:
    deadline = time.time() + SERVER_START_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"dagster dev exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(base + "/server_info", timeout=5).read()
            return
        except OSError:
            if time.time() > deadline:
                pytest.fail(f"dagster dev did not answer /server_info within {SERVER_START_S} s")
            time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_S)


class _RecordingReporter(Reporter):
    """A terminal reporter that also keeps every "what is running" it was told. The drawn bar shows only
    what a screen refresh happened to catch (a fast step can start and end between two), so the test
    asserts on what the run's event stream reported, and on the drawn bar for the rest."""

    def __init__(self, stream):
        super().__init__(enabled=True, stream=stream)
        self.told: list[str] = []

    @contextmanager
    def steps(self, label: str, total: int | None):
        with super().steps(label, total) as steps:
            draw = steps.running

            def running(what: str) -> None:
                self.told.append(f"{label}: {what}")
                draw(what)

            steps.running = running
            yield steps


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """``dagster dev`` on a free loopback port (started first: it loads while the demo runs), a 3-day
    demo into the same temporary lake and instance (progress captured as a terminal shows it), and
    the report over that lake. The server is stopped by its PID."""
    tmp = tmp_path_factory.mktemp("browser")
    with isolated_session(tmp):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True)
        (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        port = _free_port()
        proc = _start_dagster_dev(port, dict(os.environ))
        try:
            lines: list[str] = []
            progress = io.StringIO()
            reporter = _RecordingReporter(progress)
            code = run_demo(days=DEMO_DAYS, echo=lines.append, reporter=reporter)
            assert code == 0, "\n".join(lines[-30:])
            report = tmp / "report.html"
            assert tracer_main(["report", "--out", str(report)]) == 0
            base = f"http://127.0.0.1:{port}"
            _wait_until_serving(proc, base)
            yield {
                "base": base,
                "lines": lines,
                "progress": progress.getvalue(),
                "told": reporter.told,
                "report": report,
                "lake": Lake(os.environ["TRACER_LAKE_ROOT"]),
            }
        finally:
            _stop(proc)


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(`make test` and .ci/run do so); the browser tests need it."
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(UI_TIMEOUT_MS)
        yield context.new_page()
        browser.close()


_DISMISSED: set[int] = set()


def _open(page, url: str) -> None:
    """Go to ``url``. On the first visit Dagster asks to join its community: skip that dialog (the
    browser then remembers), so it blocks nothing."""
    page.goto(url)
    if id(page) in _DISMISSED:
        return
    skip = page.get_by_role("dialog").get_by_role("button", name="Skip")
    skip.wait_for(state="visible")
    skip.click()
    skip.wait_for(state="hidden")
    _DISMISSED.add(id(page))


def _shot(page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_demo_shows_progress_with_an_eta_and_runs_the_checks(stack):
    out = stack["progress"]
    for stage in ("[1/3] daily", "[2/3] weekly", "[3/3] unpartitioned"):
        assert stage in out
    assert "[1/3] daily: bars" in stack["told"]  # what is running, from the run's event stream
    assert "eta" in out
    assert any(line.strip().startswith("checks:") and "passed" in line for line in stack["lines"])
    assert "<b>" not in "\n".join(stack["lines"]) + out  # the digest is printed as terminal text


def test_asset_graph_lists_every_group(stack, page):
    _open(page, stack["base"] + "/asset-groups")
    groups = {spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert len(groups) >= 8
    for group in sorted(groups):
        page.get_by_text(group, exact=True).first.wait_for(state="visible")
    _shot(page, "asset_graph")


def test_asset_page_shows_column_descriptions_and_latest_materialization(stack, page):
    _open(page, stack["base"] + "/assets/bars")
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key.path[-1] == "bars")
    page.get_by_text(spec.description, exact=True).first.wait_for(state="visible")
    page.get_by_text("Latest materialization").first.wait_for(state="visible")
    for description in COLUMN_DOCS["bars"].values():
        page.get_by_text(description, exact=True).first.wait_for(state="visible")
    # the latest materialization's metadata: the written partitions and the preview
    page.get_by_text("rows_per_partition", exact=True).first.wait_for(state="visible")
    page.get_by_text("preview", exact=True).first.wait_for(state="visible")
    body = page.inner_text("body")
    assert "Owners" in body and "Kinds" in body
    _shot(page, "asset_page_bars")
    page.get_by_text("rows_per_partition", exact=True).first.scroll_into_view_if_needed()
    _shot(page, "asset_page_bars_metadata")


def test_asset_check_result_is_visible(stack, page):
    _open(page, stack["base"] + "/assets/bars?view=checks")
    page.get_by_text("bars_written_partitions", exact=True).first.wait_for(state="visible")
    page.get_by_text("Passed", exact=True).first.wait_for(state="visible")
    _shot(page, "asset_checks_bars")


def test_report_renders_every_section(stack, page):
    tables = set(stack["lake"].tables())
    page.goto(stack["report"].as_uri())
    for key, _ in SECTIONS:
        section = page.locator(f'section[data-section="{key}"]')
        section.wait_for(state="visible")
        missing = section.locator("p.missing")
        if missing.count():
            assert missing.count() == 1 and "No data yet" in missing.inner_text()
            assert key in {"equity", "walkforward"}, f"{key} has data in the demo lake but says none"
            continue
        figures = section.locator("div.figure")
        for i in range(figures.count()):
            # plotly drew the figure: an SVG with at least one trace in it
            figures.nth(i).locator("svg.main-svg g.trace").first.wait_for(state="attached")
        assert figures.count() or section.locator("table").count(), f"{key} rendered nothing"
    assert {"eval_metrics", "calibration_bins", "run_health"} <= tables
    assert page.locator('section[data-section="calibration"] svg.main-svg').count() >= 2
    _shot(page, "report")


def test_plots_are_linked_and_previews_are_short_in_the_latest_metadata(stack):
    instance = dg.DagsterInstance.get()  # the demo's DAGSTER_HOME
    event = instance.get_latest_materialization_event(dg.AssetKey("calibration_bins"))
    metadata = event.asset_materialization.metadata
    plots = [v.path for v in metadata.values() if isinstance(v, dg.PathMetadataValue)]
    assert any(p.endswith(".html") for p in plots) and all(Path(p).exists() for p in plots)
    bars = instance.get_latest_materialization_event(dg.AssetKey("bars")).asset_materialization.metadata
    assert len(bars["preview"].value.splitlines()) <= 2 + 3
