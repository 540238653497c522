"""Browser benchmark: what a user feels in Chromium, the app side by side with a bare Streamlit page.

Run from the repository root::

    python benchmarks/bench_browser.py                 # 15 repetitions, a few minutes
    python benchmarks/bench_browser.py --repeats 5 --words 20
    python benchmarks/bench_browser.py --url-app http://127.0.0.1:8501   # an app that is already running

It starts two servers with ``benchmarks/bench_load.py``'s helpers (the app from the repository root,
so .streamlit/config.toml applies, and the bare page: a sentence box bound to the URL and one Plotly
heatmap of its words, on Streamlit's defaults) and one headless Debian Chromium (/usr/bin/chromium,
with the flags of tests/browser/conftest.py). Both servers are stopped at the end, also on Ctrl-C.

Three pages are measured: the app's stage page ``/scores`` (3 heatmaps), the app's overview ``/``
(7 charts, 6 of them with the sentence's words as rows) and the bare page (1 heatmap). For each:

* first view: a new browser context (empty cache, new session; the browser process is kept) opens
  ``<page>?sentence=<words>``; timed from navigation start (``performance.now()`` counts from it)
  until the frame in which the run has finished and every chart is drawn with the new words;
* typing → heatmaps updated: on that loaded page, the sidebar's "Sentence" box is filled with a
  sentence of new words and Enter pressed; timed from the Enter keydown to the frame in which
  every word chart shows the new words, none the old ones, and the run has finished.

"Finished" is the state the browser tests wait for (tests/browser/browser_helpers.py): connected,
script state ``notRunning``, no status widget. A watcher in the page checks the state on every
animation frame (``requestAnimationFrame``), so times have a frame's resolution; Python only waits
for the watcher's verdict: no fixed sleeps anywhere. Each repetition uses sentences of invented
words never used before (so no cache helps and no label is ambiguous) and takes the three pages in a
rotating order, so that machine load and position in the round hit them alike. One warm-up round is
discarded. The table gives medians, 90th percentiles and the ratio to the bare page's median, against
the targets (first view within 1.2×, typing within 1.5×); a second table tells how the charts
arrived (from the same watcher), and the Python-side clock as a cross-check of the in-page one.
"""

import argparse
import contextlib
import importlib.metadata
import json
import os
import random
import signal
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

# The repository root (for `benchmarks`) and tests/browser (for the Chromium flags the tests use).
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]
from browser_helpers import _APP_SETTLED  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from benchmarks.bench_load import REPO, bare_page_dir, start_server  # noqa: E402

LOG_DIR = REPO / "artifacts" / "bench_browser"  # server logs; artifacts/ is git-ignored
TIMEOUT_MS = 60_000  # one measurement's budget; a few seconds is normal on 2 busy cores
TARGETS = {"first": 1.2, "typing": 1.5}  # the limits, as ratios to the bare page's median
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # letters only: one token per word

# Watches the page on every animation frame and notes in window.__bench when the measured change is
# complete: the run has finished, `total` charts are drawn, `wordCharts` of them show only `fresh`
# words and none shows a `stale` one. Also notes how the charts got there. `start` is 0 for a first
# view (performance.now() counts from navigation start) or null until the Enter keydown.
_WATCH = f"""([start, total, wordCharts, fresh, stale]) => {{
  const settled = {_APP_SETTLED};
  const notes = window.__bench = {{start, steps: 0, gapMs: 0, shown: 0}};
  addEventListener("keydown", event => {{
    if (event.key === "Enter" && notes.start === null) notes.start = performance.now();
  }}, true);
  let previous = null;
  const frame = () => {{
    const now = performance.now();
    if (notes.start !== null) {{
      const labels = [...document.querySelectorAll(".js-plotly-plot")]
        .map(chart => [...chart.querySelectorAll(".ytick text")].map(text => text.textContent));
      const isFresh = words => words.length > 0 && words.every(word => fresh.includes(word));
      const shown = labels.filter(isFresh).length;
      const anyStale = labels.some(words => words.some(word => stale.includes(word)));
      const finished = settled(0);
      if (finished) notes.settledAt ??= now;  // a first view's run has ended (a typing's: the one before)
      if (shown > notes.shown) {{ notes.steps += 1; notes.firstAt ??= now; }}  // frames adding charts
      if (shown === wordCharts) notes.allAt ??= now;
      notes.shown = shown;
      // Time in which a word chart was missing from the screen (neither old nor new words drawn).
      const drawn = labels.filter(words => isFresh(words) || words.some(w => stale.includes(w))).length;
      if (previous !== null && drawn < wordCharts) notes.gapMs += now - previous;
      previous = now;
      if (document.querySelector('[data-testid="stException"]')) notes.error = "an exception is shown";
      if ((finished && labels.length === total && shown === wordCharts && !anyStale) || notes.error) {{
        notes.done = now;
        return;
      }}
    }}
    requestAnimationFrame(frame);
  }};
  requestAnimationFrame(frame);
}}"""

_SNAPSHOT = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return {state: app && app.dataset.testScriptState, connection: app && app.dataset.testConnectionState,
    charts: [...document.querySelectorAll(".js-plotly-plot")]
      .map(chart => [...chart.querySelectorAll(".ytick text")].map(text => text.textContent).join(" ")),
    exception: document.querySelector('[data-testid="stException"]')?.innerText};
}"""


@dataclass
class Target:
    """One page to measure and what it shows when done."""

    name: str
    url: str
    charts: int  # Plotly charts on the page
    word_charts: int  # of those, the ones with the sentence's words as row labels
    same: "Target | None" = None  # the bare page drawing the same heatmaps as this page
    samples: dict[str, list[dict]] = field(default_factory=lambda: {"first": [], "typing": []})


class Sentences:
    """Sentences of invented words (three syllables each), no word used twice in a run."""

    def __init__(self, words: int):
        self.words, self.used = words, set()

    def __call__(self) -> list[str]:
        sentence = []
        while len(sentence) < self.words:
            word = "".join(random.choices(SYLLABLES, k=3))
            if word not in self.used:
                self.used.add(word)
                sentence.append(word)
        return sentence


def watch_until_done(page: Page, what: str, started: float) -> dict:
    """Wait (checked every frame) for the page's watcher to note the change complete; its notes.

    ``python`` in the notes: ms from `started` (perf_counter) until this wait noticed, a cross-check.
    """
    try:
        page.wait_for_function("() => window.__bench?.done !== undefined", polling="raf", timeout=TIMEOUT_MS)
        python_ms = (time.perf_counter() - started) * 1000
    except PlaywrightTimeout:
        raise RuntimeError(
            f"{what}: not done in {TIMEOUT_MS / 1000:.0f} s; the page shows {page.evaluate(_SNAPSHOT)}"
        ) from None
    notes = page.evaluate("window.__bench")
    if "error" in notes:
        raise RuntimeError(f"{what}: {notes['error']}: {page.evaluate(_SNAPSHOT)}")
    return notes | {"python": python_ms}


def measure(browser: Browser, target: Target, first: list[str], typed: list[str]) -> tuple[dict, dict]:
    """First view of `first` in a new context, then typing `typed` on it -> (first-view, typing) notes."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: print(f"  page error on {target.name}: {error}", file=sys.stderr))
        # Installed before navigation, so the watcher sees the new document from its first frame.
        context.add_init_script(
            f"({_WATCH})({json.dumps([0, target.charts, target.word_charts, first, []])})"
        )
        started = time.perf_counter()
        page.goto(
            f"{target.url}{'&' if '?' in target.url else '?'}{urllib.parse.urlencode({'sentence': ' '.join(first)})}",
            wait_until="commit",
        )
        first_view = watch_until_done(page, f"{target.name}, first view", started)

        page.evaluate(f"args => ({_WATCH})(args)", [None, target.charts, target.word_charts, typed, first])
        box = page.locator('[data-testid="stSidebar"] input[aria-label="Sentence"]')
        box.fill(" ".join(typed))
        started = time.perf_counter()
        box.press("Enter")
        typing = watch_until_done(page, f"{target.name}, typing", started)
        return first_view, typing
    finally:
        context.close()


# --- Report --------------------------------------------------------------------------------------


def elapsed(notes: dict) -> float:  # ms from the action to the frame in which it was complete
    return notes["done"] - notes["start"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def report(targets: list[Target], bare: Target) -> None:
    def ratio(target: Target, kind: str, reference: Target | None) -> str:
        if reference is None:
            return "–"
        value = median(times(target, kind)) / median(times(reference, kind))
        return f"{value:.2f}×" + (
            f" {'✓' if value <= TARGETS[kind] else '✗'}" if reference.same is None else ""
        )

    print(
        "| page | charts | first view median (ms) | p90 | × bare page | × bare, same heatmaps "
        "| typing → updated median (ms) | p90 | × bare page | × bare, same heatmaps |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for target in targets:
        first, typing = times(target, "first"), times(target, "typing")
        print(
            f"| {target.name} | {target.charts} "
            f"| {median(first):.0f} | {p90(first):.0f} | {ratio(target, 'first', bare)} "
            f"| {ratio(target, 'first', target.same)} "
            f"| {median(typing):.0f} | {p90(typing):.0f} | {ratio(target, 'typing', bare)} "
            f"| {ratio(target, 'typing', target.same)} |"
        )

    print("\nHow the charts arrived (medians; ms after navigation start or Enter):\n")
    print(
        "| page | first view: run finished | → charts drawn | typing: first chart | last chart "
        "| frames with new charts (max) | word charts missing, ms (max) | Python clock: first view | typing |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for target in targets:
        first, typing = target.samples["first"], target.samples["typing"]
        steps, gaps = [n["steps"] for n in typing], [n["gapMs"] for n in typing]
        print(
            f"| {target.name} | {med(first, 'settledAt')} | {med(first, 'done', 'settledAt')} "
            f"| {med(typing, 'firstAt', 'start')} | {med(typing, 'allAt', 'start')} "
            f"| {median(steps):.0f} ({max(steps)}) | {median(gaps):.0f} ({max(gaps):.0f}) "
            f"| {med(first, 'python')} | {med(typing, 'python')} |"
        )


def times(target: Target, kind: str) -> list[float]:
    return [elapsed(notes) for notes in target.samples[kind]]


def med(
    samples: list[dict], key: str, since: str | None = None
) -> str:  # median of notes[key] - notes[since]
    return f"{median([n[key] - (n[since] if since else 0) for n in samples]):.0f}"


# --- Main ----------------------------------------------------------------------------------------


def run(browser: Browser, targets: list[Target], repeats: int, words: int) -> None:
    sentences = Sentences(words)
    for repetition in range(-1, repeats):  # -1: the warm-up round, not recorded
        shift = repetition % len(targets)
        line = []
        for target in targets[shift:] + targets[:shift]:  # a rotating order
            first_view, typing = measure(browser, target, sentences(), sentences())
            line.append(f"{target.name} {elapsed(first_view):.0f}/{elapsed(typing):.0f}")
            if repetition >= 0:
                target.samples["first"].append(first_view)
                target.samples["typing"].append(typing)
        label = "warm-up" if repetition < 0 else f"{repetition + 1}/{repeats}"
        print(f"  {label}: first view/typing ms: {', '.join(line)}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="measured repetitions (default 15)")
    parser.add_argument("--words", type=int, default=6, help="words per sentence (default 6, at most 64)")
    parser.add_argument("--url-app", help="an already-running app to measure instead of starting one")
    parser.add_argument("--url-bare", help="an already-running bare page instead of starting one")
    args = parser.parse_args()
    if not 1 <= args.words <= 64:  # the app refuses more than 64 tokens
        parser.error("--words must be between 1 and 64")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the servers are stopped
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        print("starting the servers and Chromium", file=sys.stderr, flush=True)
        app_url = (
            args.url_app
            or stack.enter_context(start_server(REPO, "app.py", log_path=LOG_DIR / "app.log")).url
        )
        if args.url_bare:
            bare_url = args.url_bare
        else:
            bare_dir = stack.enter_context(bare_page_dir(paths=("scores",)))
            bare_url = stack.enter_context(
                start_server(bare_dir, "pages.py", log_path=LOG_DIR / "bare.log")
            ).url
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        app_url, bare_url = app_url.rstrip("/"), bare_url.rstrip("/")
        bare = Target("bare page", f"{bare_url}/", charts=1, word_charts=1)
        # The same heatmaps as the app's pages: the stage's three with numbers, the overview's seven without.
        bare_stage = Target(
            "bare page at /scores, 3 heatmaps with numbers", f"{bare_url}/scores?charts=3&numbers=true", 3, 3
        )
        bare_overview = Target("bare page, 7 heatmaps", f"{bare_url}/?charts=7", 7, 7)
        targets = [
            Target("app /scores", f"{app_url}/scores", charts=3, word_charts=3, same=bare_stage),
            # one chart of the overview has the dimensions as rows
            Target("app / (overview)", f"{app_url}/", charts=7, word_charts=6, same=bare_overview),
            bare,
            bare_stage,
            bare_overview,
        ]
        print(
            f"## Browser benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f} at the start, Chromium {browser.version}, "
            f"streamlit {importlib.metadata.version('streamlit')}\n\n"
            f"app {app_url}, bare page {bare_url}; {args.repeats} repetitions (+1 warm-up), "
            f"sentences of {args.words} new words; times in ms, in-page clock\n",
            flush=True,
        )
        run(browser, targets, args.repeats, args.words)
        report(targets, bare)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end; total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the servers and the browser were stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
