"""The pretrained model's pages against the random model's: the server-side rerun of a page under AppTest.

Run from the repository root: `python benchmarks/bench_app.py [--repeats N]`. Each page is run once to
fill the caches, then rerun; the two models' pages are timed in turn in the same loop, so both see the
same machine load. Prints a markdown table. What a class feels under load is measured by
bench_load.py (many sessions on a real server) and bench_browser.py (Chromium).
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
    compare_models(parser.parse_args().repeats)


if __name__ == "__main__":
    main()
