"""A live class without a browser: the room's tally, the code-guessing slowdown, and the pages under AppTest.

AppTest runs the app in this process, so the tests share its in-process store (``classroom.store()``)
with the pages: a class made here is the class the pages join. The browser tests
(tests/browser/test_live_class*.py) check what only a browser shows: following within 2 s, several
sessions at once, the QR code, the replicas.
"""

import math
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from test_app_pages import open_page

import classroom
from attention_core import run_attention
from attention_viz import poll, quiz, stages
from ui import live_class

SENTENCE = "the cat sat on the mat"


def question(slug="softmax", draw=0):
    return stages.VIEWS[slug].question(run_attention(SENTENCE), 0, draw)


def test_a_tally_counts_each_option_in_order_and_marks_the_answer_only_once_revealed():
    asked = question()
    guesses = [asked.options[1], asked.options[1], asked.options[3], "not an option"]
    hidden = poll.tally(asked, guesses)
    assert hidden.labels == asked.options and hidden.right is None
    assert hidden.counts == tuple(2 if k == 1 else 1 if k == 3 else 0 for k in range(len(asked.options)))
    shown = poll.tally(asked, guesses, revealed=True)
    assert shown.labels[shown.right] == asked.answer
    assert "the answer" not in poll.describe_tally(hidden) and "the answer" in poll.describe_tally(shown)


def test_numeric_guesses_fall_in_bins_that_hold_them_all():
    asked = question("scaling")
    guesses = [0.1, 0.12, 0.5, -1.0, 2.0, "x", math.inf]
    result = poll.tally(asked, guesses, revealed=True)
    assert result.numeric and sum(result.counts) == 5  # "x" and inf are not numbers
    assert len(result.labels) <= poll.MAX_BINS
    low, high = (float(part) for part in result.labels[result.right].split(" – "))
    assert low - 0.005 <= asked.answer <= high + 0.005
    assert poll.tally(asked, []).labels == ()  # nothing to draw yet


def test_the_tally_figure_shows_labels_as_text():
    asked = quiz.Question("which?", ("<b>x</b>", "y"), "y", 0.0, "because")
    figure = poll.tally_figure(poll.tally(asked, ["<b>x</b>"]))
    assert figure.data[0].x[0] == "&lt;b&gt;x&lt;/b&gt;"
    go.Figure(figure.to_dict())  # valid with Plotly's validation on


def test_ten_wrong_codes_make_a_session_wait_a_minute():
    guesses = live_class.CodeGuesses()
    for second in range(9):
        guesses.wrong(now=100.0 + second)
    assert guesses.wait(now=109.0) == 0
    guesses.wrong(now=109.5)
    assert guesses.wait(now=110.0) == pytest.approx(59.5)
    assert guesses.wait(now=170.0) == 0
    old = live_class.CodeGuesses()  # wrong codes spread over more than a minute do not add up
    for second in range(0, 200, 20):
        old.wrong(now=float(second))
    assert old.wait(now=200.0) == 0


def test_a_view_is_read_as_the_settings_it_names_and_defaults_for_the_rest():
    values = live_class._typed({"sentence": "a b", "causal": "true", "d_k": "8", "head": "2", "d_v": "1e400"})
    assert values["sentence"] == "a b" and values["causal"] is True and values["d_k"] == 8
    assert values["head"] == 2 and values["d_v"] == 4  # unreadable: its default
    assert values["scale"] is True and "present" not in values  # presenter mode is the teacher's own
    pages = live_class._typed({"sample_temperature": "0.7", "top_p": "0.5", "atlas_role": "induction"})
    assert (pages["sample_temperature"], pages["top_p"], pages["atlas_role"]) == (0.7, 0.5, "induction")
    assert pages["top_k"] == 0 and pages["atlas_layer"] == 0


@pytest.fixture
def store():
    return classroom.store()  # the process's: the pages under AppTest use it too


def notices(at):
    return [
        element.value for kind in ("warning", "info", "error", "success") for element in getattr(at, kind)
    ]


def test_outside_a_class_no_page_touches_the_store(monkeypatch):
    def refuse():
        raise AssertionError("the store was asked")

    monkeypatch.setattr(classroom, "store", refuse)
    at = open_page("pages/4_scores.py", {"sentence": SENTENCE})
    assert not at.exception and at.button(key="class_start").label == "Start a live class"


def test_start_a_live_class_makes_this_session_its_teacher(store):
    at = open_page("pages/4_scores.py", {"predict": "true"})
    at.button(key="class_start").click().run()
    [qr] = at.get("image")  # the join link's QR code, inline
    assert qr.value[0].startswith("data:image/svg+xml")
    code, key = at.query_params["class"], at.query_params["teacher"]
    assert classroom.clean_code(code) == code and store.is_teacher(code, key)
    assert [m.value for m in at.metric] == [code, "0"]
    assert at.button(key="class_end").label == "End the class"
    assert any(m.value == "**0 of 0 answered**" for m in at.markdown)
    at.button(key="class_end").click().run()
    assert store.state(code) == "ended" and "class" not in at.query_params


def test_a_teacher_link_reopens_the_class_and_a_wrong_key_is_a_student(store):
    code, key = store.create({})
    at = open_page("app.py", {"class": code, "teacher": key})
    assert not at.toast, [t.value for t in at.toast]  # class and teacher are known link parameters
    assert at.button(key="class_end") and f"You are teaching live class {code}." in notices(at)
    wrong = open_page("app.py", {"class": code, "teacher": classroom.new_key()})
    assert any("That teacher key is not this class's" in n for n in notices(wrong))
    assert not [b for b in wrong.button if b.key in ("class_end", "class_reveal", "class_start")]
    assert "teacher" not in wrong.query_params and wrong.query_params["class"] == code


def test_a_student_link_opens_the_teachers_page_and_settings(store):
    code, key = store.create({})
    view = {"page": "pages/6_softmax.py", "params": {"sentence": "a dog barked", "causal": "true"}}
    store.publish(code, key, view | {"cell": {"query": "dog"}, "draw": 0, "qid": ""})
    at = open_page("app.py", {"class": code, "sentence": "an older view", "d_k": "1e400"})
    assert not at.exception and not at.toast  # the link's own settings give way to the teacher's: no notice
    assert at.title[0].value == "6. Softmax"
    # While following, the settings are the teacher's, said in one line rather than drawn as widgets ...
    assert not [box for box in at.text_input if box.key == "sentence"] and not at.toggle(key="present").value
    said = " ".join(m.value for m in at.sidebar.markdown)
    assert "**Sentence:** a dog barked" in said and "**Model:** random" in said
    [checked] = [c.value for c in at.caption if c.value.startswith("Checked on these numbers")]
    assert "masked entries are exactly 0" in checked and "nothing is masked" not in checked  # causal
    assert at.session_state["query"] == "dog"
    assert any(f"Live class {code}" in m.value for m in at.markdown)
    # ... and exploring alone starts from them, in the widgets.
    at.button(key="class_explore").click().run()
    assert at.text_input(key="sentence").value == "a dog barked" and at.toggle(key="causal").value is True
    assert at.session_state["query"] == "dog"


def test_a_following_student_gets_no_page_links_until_exploring_alone(store):
    # The teacher chooses the page; a class draws each page once per student, so nothing unused is drawn.
    code, key = store.create({})
    store.publish(code, key, {"page": "pages/6_softmax.py", "params": {}, "cell": {}, "draw": 0, "qid": ""})
    at = open_page("app.py", {"class": code})
    assert at.title[0].value == "6. Softmax" and not at.get("page_link")
    assert any("The teacher chooses the page while you follow" in c.value for c in at.sidebar.caption)
    at.button(key="class_explore").click().run()
    assert {link.proto.label for link in at.sidebar.get("page_link")} >= {"Overview", "6. Softmax"}
    assert any(link.proto.label.startswith(("Previous: ", "Next: ")) for link in at.main.get("page_link"))


def test_a_student_follows_a_pages_own_settings(store):  # Next word's sampling, floats among them
    code, key = store.create({})
    params = {"sentence": "One, two, three,", "model": "SmolLM2", "sample_temperature": "0.7", "top_p": "0.5"}
    store.publish(
        code, key, {"page": "pages/16_next_word.py", "params": params, "cell": {}, "draw": 0, "qid": ""}
    )
    at = open_page("app.py", {"class": code})
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Next word"
    assert at.session_state["sample_temperature"] == 0.7 and at.session_state["top_p"] == 0.5


def test_a_students_answer_reaches_the_teacher(store):
    teacher = open_page("pages/6_softmax.py", {"predict": "true"})
    teacher.button(key="class_start").click().run()
    code = teacher.query_params["class"]
    student = open_page("pages/6_softmax.py", {"class": code})  # AppTest stays where it opened: not a switch
    (guess,) = [r for r in student.radio if r.label == "Your guess"]
    guess.set_value(guess.options[2]).run()
    student.button(key="class_send").click().run()
    assert any(c.value.startswith("Sent:") for c in student.caption)
    teacher.run()
    assert any(m.value == "**1 of 1 answered**" for m in teacher.markdown)


def test_a_wrong_code_and_an_unreachable_store_leave_the_page_working(monkeypatch):
    wrong = open_page("pages/4_scores.py", {"class": "ACDEFH"})
    assert not wrong.exception and any("No live class has the code" in n for n in notices(wrong))
    assert "class" not in wrong.query_params

    class Away(classroom.MemoryStore):
        def __getattribute__(self, name):
            if name.startswith("_"):
                return object.__getattribute__(self, name)
            raise classroom.StoreUnavailable("down")

    monkeypatch.setattr(classroom, "store", Away)
    at = open_page("pages/4_scores.py", {"class": "ACDEFH"})
    assert not at.exception and any("Live classes are unavailable right now" in n for n in notices(at))
    assert at.get("plotly_chart")  # the page itself is all there
    at.button(key="class_start").click().run()
    assert any("Live classes are unavailable right now" in n for n in notices(at))


def test_a_timed_fragment_run_asked_on_a_page_left_is_dropped():
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    from ui import fragments

    fragments.drop_fragment_runs_of_pages_left()
    fragments.drop_fragment_runs_of_pages_left()  # once per process, however often a page asks
    runner = ScriptRunner.__new__(ScriptRunner)  # Streamlit's own run refuses to start outside its thread:
    runner._get_script_run_ctx = lambda: SimpleNamespace(page_script_hash="new page")
    runner._is_in_script_thread = lambda: False  # reaching it is what RuntimeError says here
    assert runner._run_script(RerunData(page_script_hash="old page", fragment_id_queue=["check"])) is None
    for kept in (
        RerunData(page_script_hash="new page", fragment_id_queue=["check"]),  # its own page's fragment
        RerunData(page_script_hash="old page"),  # a whole page, whichever: a page link's click
    ):
        with pytest.raises(RuntimeError, match="script thread"):
            runner._run_script(kept)


def test_a_rerun_asked_as_a_thread_stops_starts_after_that_threads_last_messages():
    """On the event loop: the stopped thread's messages first, then the new thread, with every request
    asked meanwhile; no new thread for a session shutting down; without a thread, one at once."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from streamlit.runtime.app_session import AppSession, AppSessionState
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    from ui import fragments

    fragments.deliver_the_last_messages_of_finished_runs()
    fragments.deliver_the_last_messages_of_finished_runs()  # once per process: not wrapped twice
    assert AppSession._create_scriptrunner.__closure__[0].cell_contents.__qualname__ == (
        "AppSession._create_scriptrunner"
    )
    handled, created = [], []
    create = fragments.after_the_waiting_messages(lambda _, data: created.append((list(handled), data)))

    async def requests_as_the_thread_stops(state):
        session = SimpleNamespace(
            _scriptrunner="stopped", _state=state, _event_loop=asyncio.get_running_loop()
        )
        session._event_loop.call_soon(handled.append, "its last delta")  # queued before the request
        create(session, RerunData(fragment_id="box"))  # a click in the box
        create(session, RerunData(fragment_id="check", is_auto_rerun=True))  # the timed check, meanwhile
        assert created == []
        await asyncio.sleep(0)
        return session

    def on_a_loop_of_its_own(coroutine):  # the browser tests' Playwright keeps a loop running on this thread
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coroutine).result()

    session = on_a_loop_of_its_own(requests_as_the_thread_stops(AppSessionState.APP_IS_RUNNING))
    [(before, data)] = created
    assert before == ["its last delta"] and data.fragment_id_queue == ["box", "check"]
    assert session._rerun_waiting is None
    created.clear()
    on_a_loop_of_its_own(requests_as_the_thread_stops(AppSessionState.SHUTDOWN_REQUESTED))
    assert created == []
    create(SimpleNamespace(_scriptrunner=None), RerunData())
    assert len(created) == 1 and created[0][1].fragment_id_queue == []


def test_a_followed_sentence_is_shown_as_text(store):  # the teacher's sentence is user text
    code, key = store.create({})
    hostile = "<b>Ada</b> **x** [y](z) $a$"
    view = {"page": "pages/4_scores.py", "params": {"sentence": hostile}, "cell": {}, "draw": 0, "qid": ""}
    store.publish(code, key, view)
    at = open_page("app.py", {"class": code})
    assert not at.exception and at.title[0].value == "4. Raw scores"
    [said] = [m.value for m in at.sidebar.markdown if m.value.startswith("**Sentence:**")]
    assert r"\<b\>Ada\</b\> \*\*x\*\* \[y\]\(z\) \$a\$" in said


def test_a_notice_is_drawn_again_by_the_runs_just_after_its_first_and_then_no_more(store, monkeypatch):
    # A run that a newer run stops may never reach the browser: the runs just after it draw the notice too.
    code, key = store.create({})
    at = open_page("app.py", {"class": code, "teacher": key})
    said = f"You are teaching live class {code}."
    assert said in notices(at)
    assert said in notices(at.run())
    monkeypatch.setattr(live_class, "NOTICE_S", 0.0)
    assert said not in notices(at.run())
    assert said not in notices(at.run())


def test_a_join_link_too_long_for_a_qr_code_leaves_the_link_and_the_code(store, monkeypatch):
    assert live_class.qr_svg("http://localhost:8501/?class=ACDEFH").startswith("<svg")
    long_link = "http://localhost:8501/" + "a" * 3000 + "/?class=ACDEFH"
    assert live_class.qr_svg(long_link) is None
    monkeypatch.setattr(live_class, "join_link", lambda: long_link)
    at = open_page("pages/4_scores.py", {})
    at.button(key="class_start").click().run()
    assert not at.exception and not at.get("image")
    assert "The link is too long for a QR code: share the link or the join code." in [
        c.value for c in at.caption
    ]
    assert long_link in [c.value for c in at.code] and at.metric[0].value == at.query_params["class"]
