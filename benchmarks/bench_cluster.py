"""Capacity behind the balancer: what a lecture hall needs (README, "Serving a lecture hall").

    python benchmarks/bench_cluster.py            # about 5 minutes; needs haproxy (apt-get install haproxy)

For 1, 2 and 3 replicas started as `make cluster` starts them (deploy/cluster.py: `streamlit run app.py`
processes behind HAProxy with deploy/haproxy.cfg), browserless sessions (bench_load.BrowserTab, which
speaks Streamlit's websocket protocol) go through the balancer:

- runs per second: 30 sessions × 3 rounds, every round sent by all at once, on the overview and on a stage
  page (runs ÷ wall time), and divided by the replicas;
- the p95 of a run when 30 and 100 sessions each open the stage page and then type a new sentence at the
  same moment (the class pressing Enter together), with the RSS of the largest replica afterwards.

Every run must finish and show its own sentence; a failure is reported in the table, not hidden. All
sessions come from 127.0.0.1, one address to the balancer's limits per address (deploy/haproxy.cfg: 150
open websockets, 200 new ones per 10 s): more sessions than that would be measuring the limits.
"""

import asyncio
import contextlib
import io
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_load import Server, fmt, percentile, progress, run_sessions, table
from deploy import cluster

REPLICAS = (1, 2, 3)
PAGES = (("scores", "stage page (4. raw scores)"), ("", "overview"))


async def scenario(url, page, sessions, rounds):  # -> (results, wall seconds)
    results = await run_sessions(url, page, sessions, rounds)
    wall = max(r.finished for r in results) - min(r.started for r in results)
    return results, wall


def bad(results):
    return sum(not (r.ok and r.shows_own and not r.shows_other) for r in results)


async def measure_cluster(replicas, rows_rate, rows_p95):
    port = cluster.free_ports(replicas)
    with contextlib.redirect_stdout(io.StringIO()):
        processes = cluster.start(replicas, port, log_dir=str(Path("artifacts")))
    servers = [Server(f"http://127.0.0.1:{port + k}", p.pid) for k, p in enumerate(processes[:-1], 1)]
    url = f"http://127.0.0.1:{port}"
    try:
        await run_sessions(url, "scores", 3 * replicas, 1)  # imports and caches warm on every replica
        await run_sessions(url, "", 3 * replicas, 1)
        for page, name in PAGES:
            progress(f"{replicas} replica(s): runs per second, {name}")
            results, wall = await scenario(url, page, 30, 3)
            rate = len(results) / wall
            rows_rate.append(
                [replicas, name, len(results), f"{rate:.1f}", f"{rate / replicas:.1f}", bad(results)]
            )
        for sessions in (30, 100):
            progress(f"{replicas} replica(s): {sessions} sessions at once")
            results, _ = await scenario(url, "scores", sessions, 2)
            spread = Counter(r.replicas[0] for r in results if r.replicas and r.round == 0)
            typed = [r.latency for r in results if r.round == 1 and r.ok and r.latency is not None]
            opened = [r.latency for r in results if r.round == 0 and r.ok and r.latency is not None]
            rss = max(s.rss_mb() or 0 for s in servers)
            rows_p95.append([
                replicas, sessions, fmt(percentile(opened, 0.95)), fmt(statistics.median(typed) if typed else None),
                fmt(percentile(typed, 0.95)), bad(results), " / ".join(str(spread[k]) for k in sorted(spread)),
                f"{rss:.0f}",
            ])  # fmt: skip
    finally:
        cluster.stop(processes)


async def main():
    rows_rate, rows_p95 = [], []
    for replicas in REPLICAS:
        await measure_cluster(replicas, rows_rate, rows_p95)
    print("Runs per second through the balancer (30 sessions × 3 rounds, each round sent by all at once):\n")
    print(table(["replicas", "page", "runs", "runs/s", "runs/s per replica", "failed"], rows_rate))
    print("\nA class pressing Enter together on the stage page: opening it, then typing a new sentence:\n")
    headers = ["replicas", "sessions", "open p95 s", "type median s", "type p95 s", "failed"]
    print(table([*headers, "sessions per replica", "largest replica RSS MB"], rows_p95))


if __name__ == "__main__":
    asyncio.run(main())
