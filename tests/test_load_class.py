"""The load benchmark's live-class sessions against a real ``streamlit run app.py``, small.

Three browserless students (benchmarks/bench_class.py) answer together and follow two page changes of
their teacher: every answer is counted on the teacher's screen and every student arrives. Time is not
asserted here (other work shares the machine); the README reports the benchmark's figures.
"""

from collections.abc import Iterator

import pytest

from benchmarks.bench_class import scenario_answers, scenario_follow
from benchmarks.bench_load import REPO, Server, start_server
from benchmarks.bench_load import run_in_thread as run_async


@pytest.fixture(scope="module")
def app_server() -> Iterator[Server]:
    with start_server(REPO, "app.py", log_path=REPO / "artifacts" / "test-load-class-server.log") as server:
        yield server


def test_answers_sent_together_are_all_counted_on_the_teachers_screen(app_server):
    ((_, _, sent, _, shown, last, failed),) = run_async(scenario_answers(app_server.url, 3))
    assert sent == "3 of 3" and last == "3 of 3" and shown != "nan" and failed == 0
    assert app_server.log_problems() == []


def test_every_student_follows_the_teachers_page_changes(app_server):
    rows = run_async(scenario_follow(app_server.url, 3))
    assert [row[2] for row in rows] == ["3 of 3", "3 of 3"], rows
    assert app_server.log_problems() == []
