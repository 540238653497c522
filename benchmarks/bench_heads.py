"""The atlas of heads and attention rollout: measuring every head once, and the two pages' first view.

Run from the repository root::

    python benchmarks/bench_heads.py                      # both parts, a few minutes
    python benchmarks/bench_heads.py --roles-only         # only the measurement of the heads
    python benchmarks/bench_heads.py --repeats 5

1. **Roles, once per process.** ``attention_core.heads.head_roles(model)`` in a fresh Python process for
   MiniLM and for SmolLM2 (the model loaded first, and timed apart), ``--runs`` times each; then the same
   call again in that process (answered from its cache), one BLAS thread as in the Docker image.
2. **First view in Chromium**, with bench_browser.py's servers, browser and clock: the app's *Atlas of
   heads* and *Across layers* pages with MiniLM and SmolLM2 (and, for comparison, stage 4 with SmolLM2,
   which pays the same forward pass for a new sentence), and a bare page drawing the same charts
   (Plotly's own heatmaps on Streamlit's defaults: for the atlas a grid of layers × heads and two
   heatmaps of the words, for Across layers two), each view in a new browser context with a sentence of
   new invented words, timed in the page from navigation start to the frame in which the run has finished
   and every chart is drawn with its labels. Each model is loaded and its heads measured first (once per
   server, untimed), then one warm-up round is discarded; the pages are taken in a rotating order. The
   target: a first view within 1.2× the bare page with the same charts.
"""

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]
from browser_helpers import _APP_SETTLED, wait_for_app  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from benchmarks.bench_browser import Sentences, median, p90, watch_until_done  # noqa: E402
from benchmarks.bench_load import bare_page_dir, start_server  # noqa: E402

LOG_DIR = ROOT / "artifacts" / "bench_heads"
TARGET = 1.2  # a first view within this many times the bare page with the same charts
ROLES_RUN = """
import os, sys, time
sys.path.insert(0, {root!r})
from attention_core import heads, llm, pretrained
start = time.perf_counter()
model = {load}()
loaded = time.perf_counter()
heads.head_roles(model)
measured = time.perf_counter()
heads.head_roles(model)
print(loaded - start, measured - loaded, time.perf_counter() - measured)
"""
BARE_PAGE = '''"""The bare page of bench_heads.py: a sentence box bound to the URL, an optional grid, heatmaps of its words.

?grid=30x9 draws a heatmap of 30 × 9 cells first (the atlas's grid of heads); ?charts=N then N heatmaps of
the sentence's words, two to a row: the same charts as the app's page, drawn with Plotly's defaults.
"""

import random

import plotly.graph_objects as go
import streamlit as st

sentence = st.sidebar.text_input("Sentence", "the cat sat on the mat", key="sentence", bind="query-params")
words = sentence.split() or ["(empty)"]
if "grid" in st.query_params:
    rows, columns = map(int, st.query_params["grid"].split("x"))
    z = [[random.randrange(7) for _ in range(columns)] for _ in range(rows)]
    labels = [f"layer {k}" for k in range(rows)], [f"head {k + 1}" for k in range(columns)]
    st.plotly_chart(go.Figure(go.Heatmap(z=z, y=labels[0], x=labels[1])), key="grid")
places = st.columns(2)
for index in range(int(st.query_params.get("charts", "1"))):
    z = [[random.random() for _ in words] for _ in words]
    places[index % 2].plotly_chart(go.Figure(go.Heatmap(z=z, x=words, y=words)), key=f"chart_{index}")
'''
# Notes in window.__bench when the first view is complete: the run has finished, `total` charts are drawn
# and each shows its row labels. performance.now() counts from navigation start.
_WATCH = f"""(total) => {{
  const settled = {_APP_SETTLED};
  const notes = window.__bench = {{start: 0}};
  const frame = () => {{
    const charts = [...document.querySelectorAll(".js-plotly-plot")];
    const labelled = charts.filter(chart => chart.querySelector(".ytick text")?.textContent);
    if (document.querySelector('[data-testid="stException"]')) notes.error = "an exception is shown";
    if ((settled(0) && charts.length === total && labelled.length === total) || notes.error) {{
      notes.done = performance.now();
      return;
    }}
    requestAnimationFrame(frame);
  }};
  requestAnimationFrame(frame);
}}"""


def roles_times(runs):  # -> {model: [(load s, measure s, again s)]}, each run a fresh process
    loads = {"MiniLM": "pretrained.load_pretrained", "SmolLM2": "llm.load_llm"}
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
    found = {name: [] for name in loads}
    for _ in range(runs):
        for name, load in loads.items():  # in turn, so that machine load hits both alike
            code = ROLES_RUN.format(root=str(ROOT), load=load)
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            found[name].append(tuple(float(x) for x in out.stdout.split()))
    return found


def report_roles(found):
    print("| model | load (s) | head_roles, first call (s) | again, same process (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, runs in found.items():
        load, measure, again = (statistics.median(column) for column in zip(*runs, strict=True))
        print(
            f"| {name} | {load:.2f} | {measure:.2f} (max {max(r[1] for r in runs):.2f}) | {again * 1e6:.0f} |"
        )


@dataclass
class Target:
    name: str
    url: str
    charts: int
    same: "Target | None" = None  # the bare page with the same charts
    samples: list = field(default_factory=list)
    missed: int = 0  # views not finished within bench_browser's timeout


def first_view(browser, target, words):  # -> ms from navigation start to the complete first view
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        page = context.new_page()
        context.add_init_script(f"({_WATCH})({json.dumps(target.charts)})")
        started = time.perf_counter()
        joiner = "&" if "?" in target.url else "?"
        page.goto(
            f"{target.url}{joiner}{urllib.parse.urlencode({'sentence': ' '.join(words)})}",
            wait_until="commit",
        )
        notes = watch_until_done(page, f"{target.name}, first view", started)
        return notes["done"] - notes["start"]
    finally:
        context.close()


def pages(args):
    sentences = Sentences(args.words)
    with contextlib.ExitStack() as stack:
        bare_dir = stack.enter_context(bare_page_dir(BARE_PAGE, paths=("atlas", "across_layers", "scores")))
        app = stack.enter_context(start_server(ROOT, "app.py", log_path=LOG_DIR / "app.log")).url.rstrip("/")
        bare = stack.enter_context(
            start_server(bare_dir, "pages.py", log_path=LOG_DIR / "bare.log")
        ).url.rstrip("/")
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        # Each bare page at its app page's path: Streamlit's frontend waits there as it does for the app.
        bare_minilm = Target(
            "bare at /atlas: grid 6 × 12 + 2 heatmaps", f"{bare}/atlas?grid=6x12&charts=2", 3
        )
        bare_smollm2 = Target(
            "bare at /atlas: grid 30 × 9 + 2 heatmaps", f"{bare}/atlas?grid=30x9&charts=2", 3
        )
        bare_two = Target("bare at /across_layers: 2 heatmaps", f"{bare}/across_layers?charts=2", 2)
        bare_three = Target("bare at /scores: 3 heatmaps", f"{bare}/scores?charts=3", 3)
        targets = [
            Target("Atlas of heads, MiniLM", f"{app}/atlas?model=MiniLM", 3, bare_minilm),
            Target("Atlas of heads, SmolLM2", f"{app}/atlas?model=SmolLM2", 3, bare_smollm2),
            Target("Across layers, MiniLM", f"{app}/across_layers?model=MiniLM&rollout_layer=5", 2, bare_two),
            Target(
                "Across layers, SmolLM2", f"{app}/across_layers?model=SmolLM2&rollout_layer=29", 2, bare_two
            ),
            # For comparison: a stage page pays SmolLM2's forward pass for a new sentence too.
            Target("4. Raw scores, SmolLM2", f"{app}/scores?model=SmolLM2", 3, bare_three),
            bare_minilm,
            bare_smollm2,
            bare_two,
            bare_three,
        ]
        for target in targets[:5]:  # the server loads each model and measures its heads, once: not timed
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(target.url)
            wait_for_app(page, charts=target.charts, timeout_ms=300_000)
            context.close()
        for repetition in range(-1, args.repeats):  # -1: the warm-up round, not recorded
            shift = repetition % len(targets)
            line = []
            for target in targets[shift:] + targets[:shift]:
                try:
                    ms = first_view(browser, target, sentences())
                except RuntimeError as error:  # a view that never finished: said, not counted
                    print(f"  {error}", file=sys.stderr, flush=True)
                    target.missed += 1
                    continue
                line.append(f"{target.name} {ms:.0f}")
                if repetition >= 0:
                    target.samples.append(ms)
            label = "warm-up" if repetition < 0 else f"{repetition + 1}/{args.repeats}"
            print(f"  {label}: {', '.join(line)}", file=sys.stderr, flush=True)
    print("| page | charts | first view median (ms) | p90 | × bare page with the same charts | missed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for target in targets:
        ratio = ""
        if target.same:
            value = median(target.samples) / median(target.same.samples)
            ratio = f"{value:.2f} {'✓' if value <= TARGET else '✗'}"
        print(
            f"| {target.name} | {target.charts} | {median(target.samples):.0f} | {p90(target.samples):.0f} "
            f"| {ratio} | {target.missed} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per model for the roles (3)")
    parser.add_argument("--repeats", type=int, default=7, help="measured first views per page (7)")
    parser.add_argument("--words", type=int, default=6, help="words per sentence (6)")
    parser.add_argument("--roles-only", action="store_true", help="only measure the heads' roles")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the servers are stopped on the way out
    print(
        f"## bench_heads, {time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}\n"
    )
    report_roles(roles_times(args.runs))
    if not args.roles_only:
        print()
        pages(args)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
