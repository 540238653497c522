"""A timed fragment's rerun asked for on a page the session has since left is dropped.

The browser asks for each ``st.fragment(run_every=...)`` rerun naming the page it shows. When the session
switches page (a student following the teacher, a click while *Play* runs), a request already on its way
is run after the new page, still naming the old one: Streamlit tells the browser that the old page has
started, the browser clears the new page, and the fragment's first element finds no place for itself
("Bad delta path"; the browser closes its websocket and the student is left behind). A fragment belongs
to the page that drew it, so such a request has nothing left to do. Applied once per process, to the class.
"""

from streamlit.runtime.scriptrunner.script_runner import ScriptRunner


def drop_fragment_runs_of_pages_left():
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
