"""The live class under load: browserless sessions (``bench_load.BrowserTab``) as a teacher and students.

    python benchmarks/bench_class.py                       # a server of its own, every scenario
    python benchmarks/bench_class.py --url http://127.0.0.1:8600   # e.g. `make cluster`, through HAProxy
    python benchmarks/bench_load.py --scenario class       # the same, from the load benchmark

Each tab does what the browser does: its first run, then, for every ``st.fragment(run_every=...)`` the
page drew, a rerun of that fragment at its interval, started at a random phase (the students opened the
link at different moments), one run at a time per tab. Scenarios:

- **answers**: a teacher on a predict-first question, 100 students on it; all 100 send their guess in
  the same second (each a rerun of the question's fragment with the radio's choice and the button's
  click); the time until the teacher's own periodic check shows "100 of 100 answered";
- **follow**: 100 following students; the teacher goes to another page; the time from the teacher's
  click to each student's page showing it (its check saw the new version and reran the page), twice;
- **idle**: 30 followers and their teacher doing nothing for 30 s: the server's CPU (user + system, all
  its threads, from /proc) as a share of one core, and the same 30 tabs outside a class for comparison.
"""

import argparse
import asyncio
import contextlib
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_load import (
    LOG_DIR,
    REPO,
    BrowserTab,
    Run,
    Server,
    _host_port,
    fmt,
    percentile,
    pid_listening_on,
    progress,
    start_server,
    table,
)

SENTENCE = "the cat sat on the mat"
ANSWERED = re.compile(r"(\d+) of (\d+) answered")
FOLLOW_HEADERS = [
    "move",
    "students",
    "arrived",
    "median s",
    "p95 s",
    "max s",
    "teacher's own run s",
    "client CPU",
]


@dataclass
class Member:
    """A tab in the class, with its periodic checks; ``watch(run)`` sees every run the checks make."""

    tab: BrowserTab
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watch: object = None
    checks: int = 0
    check_latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    async def run(self, **options) -> Run:
        async with self.lock:
            run = await self.tab.run(**options)
        if not run.ok:
            self.failures.append(run.error)
        return run

    async def keep_checking(self, stop: asyncio.Event):
        await asyncio.sleep(random.uniform(0, 1.0))
        while not stop.is_set():
            due = time.perf_counter() + min(self.tab.auto_reruns.values(), default=1.0)
            for fragment in list(self.tab.auto_reruns):
                run = await self.run(fragment_id=fragment)
                self.checks += 1
                if run.latency is not None and not run.full:
                    self.check_latencies.append(run.latency)
                if self.watch:
                    self.watch(run)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, due - time.perf_counter()))


async def open_teacher(base, page, query) -> tuple[Member, str]:  # -> (the teacher, the join code)
    tab = BrowserTab(base, page, query)
    await tab.open()
    run = await tab.run()
    assert run.ok, run.error
    start, _ = tab.widgets["Start a live class"]
    run = await tab.run(widgets=[(start, "trigger_value", True)])
    assert run.ok and "class" in tab.query, (run.error, tab.query)
    return Member(tab), tab.query["class"]


async def open_students(base, code, count) -> list[Member]:
    async def one():
        tab = BrowserTab(base, "", {"class": code})
        await tab.open()
        run = await tab.run()
        assert run.ok, run.error
        return Member(tab)

    members = []
    for start in range(0, count, 25):  # a class arriving over a few seconds, not in one instant
        members += await asyncio.gather(*(one() for _ in range(min(25, count - start))))
    return members


async def close(members):
    await asyncio.gather(*(m.tab.close() for m in members))


def shows(run, text):
    return any(text in t for t in run.texts)


async def scenario_answers(base, students=100) -> list:
    query = {"sentence": SENTENCE, "predict": "true"}
    teacher, code = await open_teacher(base, "scores", query)
    members = await open_students(base, code, students)
    stop = asyncio.Event()
    counted = {}

    def teacher_sees(run):
        for text in run.texts:
            if found := ANSWERED.search(text):
                counted["last"] = (int(found.group(1)), int(found.group(2)), time.perf_counter())
                if int(found.group(1)) == students and "all" not in counted:
                    counted["all"] = time.perf_counter()

    teacher.watch = teacher_sees
    checking = [asyncio.create_task(m.keep_checking(stop)) for m in [teacher, *members]]
    await asyncio.sleep(3)  # every page settled, every check running
    together = asyncio.Barrier(students)

    async def send(member):
        radio, box = member.tab.widgets["Your guess"]
        button, _ = member.tab.widgets["Send to the class"]
        await together.wait()
        started = time.perf_counter()
        run = await member.run(
            fragment_id=box, widgets=[(radio, "string_value", "cat"), (button, "trigger_value", True)]
        )
        return started, time.perf_counter(), run.ok and shows(run, "Sent:")

    sent = await asyncio.gather(*(send(m) for m in members))
    first_sent = min(s for s, _, _ in sent)
    deadline = time.perf_counter() + 30
    while "all" not in counted and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*checking)
    await close([teacher, *members])
    acknowledged = max(done for _, done, _ in sent) - first_sent
    shown = counted.get("all", float("nan")) - first_sent
    failures = sum(m.failures != [] for m in [teacher, *members])
    return [
        [
            "answers",
            students,
            f"{sum(ok for _, _, ok in sent)} of {students}",
            fmt(acknowledged, 2),
            fmt(shown, 2),
            f"{counted.get('last', ('?', '?'))[0]} of {counted.get('last', ('?', '?'))[1]}",
            failures,
        ]
    ]


async def scenario_follow(base, students=100, moves=(("softmax", "6. Softmax"), ("output", "7. Weighted"))):
    teacher, code = await open_teacher(base, "scores", {"sentence": SENTENCE})
    members = await open_students(base, code, students)
    stop = asyncio.Event()
    arrived = {}

    def watcher(index):
        def seen(run):
            if run.full and shows(run, arrived["want"]) and index not in arrived["times"]:
                arrived["times"][index] = time.perf_counter() - arrived["started"]

        return seen

    for index, member in enumerate(members):
        member.watch = watcher(index)
    arrived.update(want="\0", times={}, started=0.0)
    checking = [asyncio.create_task(m.keep_checking(stop)) for m in [teacher, *members]]
    await asyncio.sleep(3)
    rows = []
    for page, title in moves:
        arrived.update(want=title, times={}, started=time.perf_counter())
        client_before = time.process_time()
        teacher.tab.page, teacher.tab.page_hash = page, ""  # a click on the page's link
        run = await teacher.run()
        assert run.ok, run.error
        deadline = time.perf_counter() + 30
        while len(arrived["times"]) < students and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        took = sorted(arrived["times"].values())
        client = (time.process_time() - client_before) / (time.perf_counter() - arrived["started"])
        rows.append(
            [
                f"follow → {page}",
                students,
                f"{len(took)} of {students}",
                fmt(statistics.median(took) if took else None),
                fmt(percentile(took, 0.95)),
                fmt(max(took) if took else None),
                fmt(run.latency),
                f"{100 * client:.0f} %",
            ]
        )
        await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*checking)
    await close([teacher, *members])
    return rows


async def scenario_idle(base, server, students=30, seconds=30.0):
    rows = []
    for label in ("outside a class", "following a class"):
        if label == "outside a class":
            members = []
            for _ in range(students):
                tab = BrowserTab(base, "scores", {"sentence": SENTENCE})
                await tab.open()
                await tab.run()
                members.append(Member(tab))
            teacher = None
        else:
            teacher, code = await open_teacher(base, "scores", {"sentence": SENTENCE})
            members = await open_students(base, code, students)
        everyone = [m for m in [teacher, *members] if m]
        stop = asyncio.Event()
        checking = [asyncio.create_task(m.keep_checking(stop)) for m in everyone]
        await asyncio.sleep(5)  # settled
        checks_before = sum(m.checks for m in everyone)
        cpu_before, wall_before = server.cpu_s(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = server.cpu_s() - cpu_before, time.perf_counter() - wall_before
        checks = sum(m.checks for m in everyone) - checks_before
        stop.set()
        await asyncio.gather(*checking)
        latencies = [x for m in members for x in m.check_latencies]
        await close(everyone)
        rows.append(
            [
                label,
                students,
                f"{100 * cpu / wall:.1f} %",
                f"{checks / wall:.1f}",
                fmt(1000 * cpu / checks if checks else None, 1),
                fmt(1000 * statistics.median(latencies) if latencies else None, 1),
            ]
        )
    return rows


async def scenario_class(server: Server, quick=False) -> str:
    """Every live-class scenario on one server (or a balancer: then CPU is the one process given)."""
    size = 10 if quick else 100
    progress(f"class: {size} students answer in the same second")
    answers = await scenario_answers(server.url, size)
    progress(f"class: {size} students follow the teacher")
    follow = await scenario_follow(server.url, size)
    idle = None
    if server.pid:
        progress("class: 30 idle followers, 30 s")
        idle = await scenario_idle(server.url, server, 10 if quick else 30, 10 if quick else 30)
    parts = [
        "### Live class: answers",
        "",
        table(
            [
                "scenario",
                "students",
                "answers sent",
                "all acknowledged s",
                "teacher shows all s",
                "teacher's last count",
                "tabs with a failed run",
            ],
            answers,
        ),
        "",
        "### Live class: following the teacher (from the teacher's click)",
        "",
        table(FOLLOW_HEADERS, follow),
    ]
    if idle:
        parts += [
            "",
            "### Live class: idle tabs, server CPU",
            "",
            table(
                [
                    "tabs",
                    "count",
                    "server CPU (one core = 100 %)",
                    "checks/s",
                    "CPU ms per check",
                    "median check ms",
                ],
                idle,
            ),
        ]
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already-running app (e.g. make cluster's balancer)")
    parser.add_argument("--quick", action="store_true", help="10 students: a smoke run")
    parser.add_argument("--scenario", choices=("answers", "follow", "idle"), action="append")
    parser.add_argument(
        "--students", type=int, help="students in answers and follow (default 100), idle (30)"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.url:
            server = Server(args.url.rstrip("/"), pid_listening_on(_host_port(args.url)[1]))
        else:
            server = stack.enter_context(start_server(REPO, "app.py", log_path=LOG_DIR / "class.log"))
        if not args.scenario:
            print(asyncio.run(scenario_class(server, args.quick)))
            return
        size = args.students or (10 if args.quick else 100)
        for name in args.scenario:
            if name == "answers":
                rows = asyncio.run(scenario_answers(server.url, size))
            elif name == "follow":
                rows = asyncio.run(scenario_follow(server.url, size))
            else:
                rows = asyncio.run(
                    scenario_idle(server.url, server, args.students or (10 if args.quick else 30))
                )
            for row in rows:
                print(" | ".join(map(str, row)), flush=True)


if __name__ == "__main__":
    main()
