"""A small run of the load benchmark's browser sessions against a real ``streamlit run app.py``.

Five sessions type two sentences each over Streamlit's websocket (benchmarks/bench_load.py speaks
the protocol); every run must finish, show its own sentence and never another session's. Time is
not asserted: other work may share the machine.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.bench_load import (
    REPO,
    BrowserTab,
    Server,
    bare_page_dir,
    markers_in,
    new_tag,
    ordinary_sentence,
    run_sessions,
    start_server,
)
from benchmarks.bench_load import (
    run_in_thread as run_async,
)

ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="module")
def app_server() -> Iterator[Server]:
    with start_server(REPO, "app.py", log_path=ARTIFACTS / "test-load-server.log") as server:
        yield server


def _describe(results) -> str:
    return "\n".join(
        f"session {r.session} round {r.round}: ok={r.ok} own={r.shows_own} other={r.shows_other} "
        f"stale={r.shows_stale} {r.error}"
        for r in results
    )


@pytest.mark.parametrize("page", ["scores", ""], ids=["stage page", "overview"])
def test_sessions_see_only_their_own_sentences(app_server: Server, page: str):
    log_start = app_server.log_size()
    tag = new_tag()
    results = run_async(run_sessions(app_server.url, page, 5, 2, lambda s, r: ordinary_sentence(tag, s, r)))
    report = _describe(results)
    assert sorted((r.session, r.round) for r in results) == [(s, r) for s in range(5) for r in range(2)]
    assert all(r.ok for r in results), report  # FINISHED_SUCCESSFULLY, no exception element
    assert all(r.shows_own for r in results), report
    assert not any(r.shows_other for r in results), report
    # The second run shows the sentence typed into the text box, not the first one.
    for r in results:
        assert r.sentence == ordinary_sentence(tag, r.session, r.round)
    assert not any(r.shows_stale for r in results if r.round == 1), report
    assert app_server.log_problems(log_start) == []


def test_typed_sentence_arrives_through_widget_states(app_server: Server):
    """With the URL left at the first sentence, only widget_states carries the second."""
    tag = new_tag()
    first, second = ordinary_sentence(tag, 0, 0), ordinary_sentence(tag, 0, 1)

    async def two_runs():
        tab = BrowserTab(app_server.url, "scores", {"sentence": first}, binds_url=False)
        await tab.open()
        try:
            return await tab.run(), await tab.run(typed=second), tab.query
        finally:
            await tab.close()

    run1, run2, query = run_async(two_runs())
    assert run1.ok and run2.ok, (run1.error, run2.error)
    assert query == {"sentence": first}
    charts = "".join(run2.charts).encode()
    assert all(word in charts for word in markers_in(second))
    assert not run2.markers & markers_in(first)


def test_bare_page_sessions(tmp_path: Path):
    with (
        bare_page_dir() as directory,
        start_server(directory, "bare.py", log_path=tmp_path / "bare.log") as bare,
    ):
        results = run_async(run_sessions(bare.url, "", 3, 2))
    assert all(r.ok and r.shows_own and not r.shows_other and not r.shows_stale for r in results), _describe(
        results
    )
