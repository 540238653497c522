"""Server-side rerun time of every page, against a bare page with as many empty Plotly charts.

Run from the repository root: `python benchmarks/bench_app.py [--repeats N]`.
Each page is run once to fill the caches (st.cache_data), then rerun N times with AppTest;
the bare page runs in the same loop, so both see the same machine load. Prints a markdown table.
"""

import argparse
import pathlib
import statistics
import sys
import time

from streamlit.testing.v1 import AppTest

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ui.pages import PAGES  # noqa: E402

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "the",
    "mat",
    "while",
    "a",
    "dog",
    "watched",
    "it",
    "from",
    "the",
    "warm",
    "kitchen",
    "door",
]
BARE_PAGE = """
import plotly.graph_objects as go
import streamlit as st

st.sidebar.text_input("Sentence", "x")
for index in range({charts}):
    st.plotly_chart(go.Figure(), key=f"chart_{{index}}")
"""


def sentence(n):  # n tokens of plain words
    return " ".join(WORDS[i % len(WORDS)] for i in range(n))


def median_rerun(app, repeats):  # seconds
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def page_app(page, n):
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    app.query_params["sentence"] = sentence(n)
    if page.path != "app.py":
        app.switch_page(page.path)
    app.run()  # warm the caches; a later rerun is what a user's click costs
    assert not app.exception, app.exception
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("| page | tokens | charts | page rerun (ms) | bare page (ms) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in (8, 64):
        for page in PAGES:
            app = page_app(page, n)
            charts = len(app.get("plotly_chart"))
            bare = AppTest.from_string(BARE_PAGE.format(charts=charts), default_timeout=120)
            bare.run()
            page_s, bare_s = [], []
            for _ in range(args.repeats):  # interleaved, so load spikes hit both alike
                page_s.append(median_rerun(app, 1))
                bare_s.append(median_rerun(bare, 1))
            page_ms, bare_ms = 1000 * statistics.median(page_s), 1000 * statistics.median(bare_s)
            print(
                f"| {page.title} | {n} | {charts} | {page_ms:.0f} | {bare_ms:.0f} | {page_ms / bare_ms:.2f} |"
            )


if __name__ == "__main__":
    main()
