"""Two races of Streamlit's fragments that lose a live class's student, fixed once per process.

A page that shows a live class has a timed fragment (a student's check of the class, every second) beside
fragments a person clicks in (the predict-first box). Both fixes apply to Streamlit's classes, so
sessions already open are covered too.
"""

from streamlit.runtime.app_session import AppSession, AppSessionState
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests


def drop_fragment_runs_of_pages_left():
    """A timed fragment's rerun asked for on a page the session has since left is dropped.

    The browser asks for each ``st.fragment(run_every=...)`` rerun naming the page it shows. When the
    session switches page (a student following the teacher, a click while *Play* runs), a request already
    on its way is run after the new page, still naming the old one: Streamlit tells the browser that the
    old page has started, the browser clears the new page, and the fragment's first element finds no place
    for itself ("Bad delta path"; the browser closes its websocket and the student is left behind). A
    fragment belongs to the page that drew it, so such a request has nothing left to do.
    """
    if getattr(ScriptRunner, "drops_fragment_runs_of_pages_left", False):
        return
    run = ScriptRunner._run_script

    def _run_script(self, rerun_data):  # in the session's script thread, for each request it takes
        now_on = self._get_script_run_ctx().page_script_hash  # the page of the session's last run
        if rerun_data.fragment_id_queue and now_on and rerun_data.page_script_hash not in ("", now_on):
            return  # its widget values are the old page's too: run, they would undo what the new page set
        run(self, rerun_data)

    ScriptRunner._run_script = _run_script
    ScriptRunner.drops_fragment_runs_of_pages_left = True


def deliver_the_last_messages_of_finished_runs():
    """A fragment's run that has just finished reaches the browser whole, whatever rerun comes next.

    A session's script thread stops once it has no request left, while its last messages still wait on
    the server's event loop. A rerun asked for in that moment (the timed check, at the very moment a
    student picks a guess in the predict-first box) finds the thread stopped; Streamlit starts a new one
    at once and ignores every message still waiting from the old one. After a whole page's run that
    costs nothing (the next run draws the page again), but after a fragment's it cuts the fragment short
    in the browser: the box kept *Send to the class* disabled after the guess had reached the server,
    and picking the same guess again sends nothing (about 1 run in 10 of
    the class-across-replicas test on a busy machine; none in 14 with this fix, which acted in 10 of them).

    Here the new thread starts after the messages already waiting; a rerun asked for meanwhile joins its
    first request, as Streamlit joins requests that wait for a running thread.
    """
    if getattr(AppSession, "delivers_the_last_messages_of_finished_runs", False):
        return
    AppSession._create_scriptrunner = after_the_waiting_messages(AppSession._create_scriptrunner)
    AppSession.delivers_the_last_messages_of_finished_runs = True


def after_the_waiting_messages(create):  # Streamlit's AppSession._create_scriptrunner -> the fixed one
    def _create_scriptrunner(self, rerun_data):  # on the event loop's thread, like every request
        waiting = getattr(self, "_rerun_waiting", None)
        if waiting is not None:
            waiting.request_rerun(rerun_data)  # coalesced as Streamlit coalesces requests that wait
            return
        if self._scriptrunner is None:  # no thread, or the last one's messages are all handled
            create(self, rerun_data)
            return
        # The thread refused the request: it has stopped, and its messages are on this loop, before this
        # call. The new thread starts once they are sent.
        waiting = self._rerun_waiting = ScriptRequests()
        waiting.request_rerun(rerun_data)

        def start():
            self._rerun_waiting = None
            if self._state != AppSessionState.SHUTDOWN_REQUESTED:
                create(self, waiting.on_scriptrunner_ready().rerun_data)  # the requests, joined

        self._event_loop.call_soon(start)

    return _create_scriptrunner
