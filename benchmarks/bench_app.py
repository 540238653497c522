"""Server-side rerun time of every page, against a bare page with as many empty Plotly charts,
and the pretrained model's pages against the random model's.

Run from the repository root: `python benchmarks/bench_app.py [--repeats N]`.
Each page is run once to fill the caches, then rerun N times with AppTest; the pages compared run
in turn in the same loop, so all see the same machine load. Besides the bare page of the issue, each
page is compared with the floor the shared sidebar sets: the bare page's empty charts under the app's
own sidebar (drawn by the same `page_setup`, in a copy of the app where that page sits in pages/).
Prints markdown tables.
"""

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile
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
SIDEBAR_PAGE = """
import plotly.graph_objects as go
import streamlit as st

from ui.controls import page_setup
from ui.pages import PAGES

page_setup(PAGES[0], compute=False)
for index in range(st.session_state["bench_charts"]):
    st.plotly_chart(go.Figure(), key=f"chart_{index}")
"""


def sidebar_app(charts, directory):  # the bare page's charts under the app's sidebar, as a page of a copy
    app = AppTest.from_file(str(directory / "app.py"), default_timeout=120)
    app.session_state["bench_charts"] = charts
    app.switch_page("pages/99_bench_sidebar.py")
    app.run()
    assert not app.exception, app.exception
    return app


def app_copy(directory):  # -> the copy's root: app.py and pages/ as they are, plus the sidebar page
    root = pathlib.Path(directory)
    shutil.copy(REPO / "app.py", root)
    shutil.copytree(REPO / "pages", root / "pages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / ".streamlit", root / ".streamlit")
    (root / "pages" / "99_bench_sidebar.py").write_text(SIDEBAR_PAGE)
    return root


def sentence(n):  # n tokens of plain words
    return " ".join(WORDS[i % len(WORDS)] for i in range(n))


def median_rerun(app, repeats):  # seconds
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def page_app(page, n, **params):
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    app.query_params.update({"sentence": sentence(n), **params})
    if page.path != "app.py":
        app.switch_page(page.path)
    app.run()  # warm the caches; a later rerun is what a user's click costs
    assert not app.exception, app.exception
    return app


def first_pages_ms():  # -> (first page of a fresh server, then choosing MiniLM), in ms
    import streamlit as st

    from attention_core import pretrained

    st.cache_resource.clear()
    st.cache_data.clear()
    pretrained._load_once.cache_clear()
    pretrained._cached_forward.cache_clear()
    start = time.perf_counter()
    app = page_app(PAGES[6], 8)  # the first page loads the model once, to know whether it can be offered
    first = time.perf_counter() - start
    app.query_params["model"] = "MiniLM"  # then the user chooses MiniLM
    start = time.perf_counter()
    app.run()
    assert not app.exception, app.exception
    return 1000 * first, 1000 * (time.perf_counter() - start)


def compare_models(repeats):
    print("\n| page | tokens | random model rerun (ms) | MiniLM rerun (ms) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for n in (8, 64):
        for page in (PAGES[0], PAGES[4], PAGES[6], PAGES[7]):
            # MiniLM adds [CLS] and [SEP]: n - 2 words make n word pieces, as many tokens as the random model's
            apps = (page_app(page, n), page_app(page, n - 2, model="MiniLM", layer="3"))
            spent = ([], [])
            for _ in range(repeats):
                for app, times in zip(apps, spent, strict=True):
                    times.append(median_rerun(app, 1))
            toy_ms, minilm_ms = (1000 * statistics.median(times) for times in spent)
            print(f"| {page.title} | {n} | {toy_ms:.0f} | {minilm_ms:.0f} | {minilm_ms / toy_ms:.2f} |")
    first, choosing = first_pages_ms()
    print(f"\nFirst page of a fresh server process (includes loading and checking MiniLM): {first:.0f} ms")
    print(f"Then choosing MiniLM (a forward through every layer, then its first page): {choosing:.0f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(
        "| page | tokens | charts | page rerun (ms) | bare page (ms) | ratio "
        "| bare page + the app's sidebar (ms) | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        copy = app_copy(directory)
        for n in (8, 64):
            for page in PAGES:
                app = page_app(page, n)
                charts = len(app.get("plotly_chart"))
                bare = AppTest.from_string(BARE_PAGE.format(charts=charts), default_timeout=120)
                bare.run()
                floor = sidebar_app(charts, copy)
                spent = ([], [], [])
                for _ in range(args.repeats):  # interleaved, so load spikes hit all alike
                    for compared, times in zip((app, bare, floor), spent, strict=True):
                        times.append(median_rerun(compared, 1))
                page_ms, bare_ms, floor_ms = (1000 * statistics.median(times) for times in spent)
                print(
                    f"| {page.title} | {n} | {charts} | {page_ms:.0f} | {bare_ms:.0f} | {page_ms / bare_ms:.2f} "
                    f"| {floor_ms:.0f} | {page_ms / floor_ms:.2f} |"
                )
    compare_models(args.repeats)


if __name__ == "__main__":
    main()
