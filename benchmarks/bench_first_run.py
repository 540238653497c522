"""The server's time for a first view: a new session's first run on a new sentence, checkouts side by side.

Run from the repository root::

    python benchmarks/bench_first_run.py                          # this checkout alone
    git worktree add /tmp/before <commit>                         # then, side by side with another one:
    python benchmarks/bench_first_run.py . /tmp/before --repeats 9

Each checkout gets its own ``streamlit run app.py`` (its own .streamlit/config.toml, this environment's
packages). A browserless tab (``bench_load.BrowserTab``) opens each page with a sentence of new invented
words, so no cache helps, and times its first run: from the rerun request to ``script_finished``, the
server's whole part of a first view (the model's forward pass included). Every page is opened once per
server before timing (the models load then). The servers are asked in turn, in alternating order, so
that load on the machine hits them alike. Medians, in ms.
"""

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_browser import Sentences
from benchmarks.bench_load import LOG_DIR, BrowserTab, start_server

PAGES = [  # (URL path, query): the pages whose first view computes most
    ("scores", {}),
    ("atlas", {"model": "MiniLM"}),
    ("atlas", {"model": "SmolLM2"}),
    ("scores", {"model": "SmolLM2"}),
    ("across_layers", {"model": "SmolLM2"}),
]


NEW_WORDS = Sentences(6)  # no word used twice: no cache of any server holds the sentence


async def first_run(url, page, query):  # -> seconds from the rerun request to script_finished
    tab = BrowserTab(url, page, query | {"sentence": " ".join(NEW_WORDS())})
    await tab.open()
    try:
        run = await tab.run()
    finally:
        await tab.close()
    if not run.ok:
        raise RuntimeError(f"/{page} {query}: {run.error}")
    return run.latency


async def measure(servers, repeats):  # -> {(page, query): {checkout: [seconds]}}
    for _, url in servers:
        for page, query in PAGES:
            await first_run(url, page, query)
    found = {}
    for repeat in range(repeats):
        for page, query in PAGES:
            for name, url in servers if repeat % 2 else servers[::-1]:
                times = found.setdefault((page, str(query)), {}).setdefault(name, [])
                times.append(await first_run(url, page, query))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", default=["."], help="repository folders (default: .)")
    parser.add_argument("--repeats", type=int, default=7, help="first runs per page and checkout (7)")
    args = parser.parse_args()
    roots = [Path(root).resolve() for root in args.checkouts]
    with contextlib.ExitStack() as stack:
        servers = [
            (
                str(root),
                stack.enter_context(start_server(root, "app.py", log_path=LOG_DIR / f"first-{i}.log")).url,
            )
            for i, root in enumerate(roots)
        ]
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start\n")
        found = asyncio.run(measure(servers, args.repeats))
    print("| page | " + " | ".join(name for name, _ in servers) + " |")
    print("| --- |" + " ---: |" * len(servers))
    for (page, query), times in found.items():
        cells = " | ".join(f"{statistics.median(times[name]) * 1000:.0f}" for name, _ in servers)
        print(f"| /{page} {query if query != '{}' else ''} | {cells} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
