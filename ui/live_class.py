"""A live class: the teacher starts it, students join by link, code or QR code and follow the teacher's view.

- **Start a live class** (sidebar): a new class in the store (``classroom``); the teacher's page shows the
  join code, the join link and its QR code (``segno``), and how many students are there. The teacher's
  address carries ``class=<code>&teacher=<key>`` (to reopen the class in another tab or on another
  machine); a student's only ``class=<code>``. Without the right key a session is a student (with a notice).
- **Following**: after each of the teacher's runs the view (page, settings, chosen cell, question) is
  published when it changed; a student's page checks every ``POLL_S`` (a fragment: one small read of the
  store) and, when the version changed, reruns the whole page on the teacher's view (``follow`` sets
  the widgets' values before they are drawn, as ``url_state.restore`` does). *Explore on my own* stops
  following, *Follow the teacher* comes back. Presenter mode is the teacher's own: students keep theirs.
- **Ending**: *End the class* ends it for everyone; students keep exploring alone, with a message. A class
  idle for 4 hours ends by itself (the store forgets it).

Code guessing is slowed per session (``CodeGuesses``); the store is touched only by sessions in a class
or asking to be, so every page works while the store is down ("Live classes are unavailable right now").
"""

import collections
import contextlib
import time
import urllib.parse

import segno
import streamlit as st

import classroom
from attention_core import AttentionInputError
from classroom.codes import MAX_NICKNAME
from ui import class_session, predict_first, render, url_state
from ui.class_session import (
    APPLIED,
    CODE,
    FOLLOWING,
    KEY,
    OFFLINE,
    REVEALED,
    UNAVAILABLE,
    URL_CLASS,
    URL_TEACHER,
    VERSION,
    code,
    following,
    store,
    student_id,
    teaching,
)
from ui.pages import OVERVIEW, PAGES

PENDING = "class_pending"  # session: (version, the teacher's view) to apply before the next run's widgets
PUBLISHED = "class_published"  # session (teacher): the view last published
NOTICE = "class_notice"  # session: (kind, message, when first drawn) to show at the top of the next pages
NOTICE_S = 3.0  # a notice is drawn again by the runs of its first seconds: a run cut short may never show
LEFT = "class_left"  # session: the code of a class this session left (its URL may still name it)
GUESSES = "class_guesses"  # session: the CodeGuesses
TYPED = "class_typed"  # session: (the code last tried under "Join a class", when)
NOT_FOLLOWED = ("present",)  # presenter mode is the teacher's own projector layout
PATHS = {page.path for page in PAGES}


class CodeGuesses:
    """Wrong join codes of one session: after WRONG of them within a minute, it waits WAIT_S."""

    WRONG, WAIT_S = 10, 60.0

    def __init__(self):
        self._wrong = collections.deque()  # when each wrong code of the last minute was tried
        self._blocked_until = 0.0

    def wait(self, now=None):  # -> seconds this session must still wait before trying a code (0: none)
        now = time.monotonic() if now is None else now
        return max(0.0, self._blocked_until - now)

    def wrong(self, now=None):
        now = time.monotonic() if now is None else now
        while self._wrong and now - self._wrong[0] > 60:
            self._wrong.popleft()
        self._wrong.append(now)
        if len(self._wrong) >= self.WRONG:
            self._blocked_until, self._wrong = now + self.WAIT_S, collections.deque()


def _notice(kind, message):
    st.session_state[NOTICE] = (kind, message, None)


def _class_params():  # -> the URL parameters of this session's class
    params = {URL_CLASS: code()}
    return params | ({URL_TEACHER: st.session_state[KEY]} if teaching() else {})


def _reset():
    for key in (CODE, KEY, FOLLOWING, VERSION, APPLIED, PENDING, PUBLISHED, REVEALED, OFFLINE):
        st.session_state.pop(key, None)


def _leave(kind, message):  # this session is no longer in its class; the URL forgets it
    if following():  # the sidebar's widgets, drawn again, start from the last view followed
        st.session_state.update(followed_values())
    st.session_state[LEFT] = code()
    _reset()
    _notice(kind, message)
    for key in (URL_CLASS, URL_TEACHER):
        if key in st.query_params:
            del st.query_params[key]


# --- Joining --------------------------------------------------------------------------------------


def _join(wanted, nickname=""):  # -> True once a student of the class `wanted`; None: the store is away
    guesses = st.session_state.setdefault(GUESSES, CodeGuesses())
    if wait := guesses.wait():
        _notice("warning", f"Too many wrong class codes: try again in {wait:.0f} s.")
        return False
    found = classroom.clean_code(wanted)
    try:
        if found is None:
            raise classroom.NoSuchClass(wanted)
        store().join(found, student_id(), nickname)
    except classroom.NoSuchClass:
        try:
            ended = found is not None and store().state(found) == "ended"
        except classroom.StoreUnavailable:
            ended = False
        if not ended:
            guesses.wrong()
        shown = render.escape_markdown(str(wanted)[:12])
        _notice("warning", "That class has ended." if ended else f"No live class has the code “{shown}”.")
        return False
    except classroom.ClassFull:
        _notice(
            "warning", f"This class is full: it holds {classroom.MAX_STUDENTS} students. Ask the teacher."
        )
        return False
    except classroom.StoreUnavailable:
        _notice("error", f"{UNAVAILABLE}; the app works as usual on its own.")
        return None
    _reset()
    st.session_state.update({CODE: found, FOLLOWING: True, VERSION: 0})
    st.session_state.pop(LEFT, None)
    return True


def _enter_from_url(first_run):
    """A link naming a class: join it (as its teacher with the right key, else as a student)."""
    wanted, key = st.query_params.get(URL_CLASS), st.query_params.get(URL_TEACHER)
    if not wanted or wanted == st.session_state.get(LEFT):
        return
    if wanted == code() and (teaching() or not key):
        return
    if key:
        try:
            if store().is_teacher(wanted, key):
                _reset()
                st.session_state.update({CODE: wanted, KEY: key})
                _notice("success", f"You are teaching live class {wanted}.")
                return
        except classroom.StoreUnavailable:
            _notice("error", f"{UNAVAILABLE}; the app works as usual on its own.")
            return
        del st.query_params[URL_TEACHER]  # never left in a student's address
        if wanted == code():
            _notice("warning", "That teacher key is not this class's: you stay a student.")
            return
    joined = _join(wanted)
    if not joined:
        if joined is False and URL_CLASS in st.query_params:  # refused; kept while the store is away
            del st.query_params[URL_CLASS]
        return
    if key:
        _notice("warning", f"That teacher key is not this class's: you joined class {wanted} as a student.")
    if first_run:  # the teacher's view, not the link's: its settings may be older than the class's
        for name in [k for k in st.query_params if k != URL_CLASS]:
            del st.query_params[name]
    _check(navigate_now=True)


# --- Following ------------------------------------------------------------------------------------


def _typed(params):  # a view's URL parameters -> the value of every followed setting (defaults if absent)
    options, values = url_state.options() | url_state.PAGE_OPTIONS, {}  # a page's own: Next word's floats
    for key, default in (url_state.defaults() | url_state.PAGE_DEFAULTS).items():
        if key in NOT_FOLLOWED:
            continue
        raw = params.get(key)
        try:
            if raw is None:
                values[key] = default
            elif key in options:
                values[key] = options[key].parse(raw)
            elif isinstance(default, bool):
                values[key] = raw == "true"
            elif isinstance(default, int):
                values[key] = int(raw)
            else:
                values[key] = str(raw)
        except (ValueError, AttentionInputError):
            values[key] = default
    return values


def followed_values():  # -> the settings of the teacher's view this student applied last, typed
    return _typed(st.session_state.get(APPLIED, {}).get("params", {}))


def _apply(view):
    """The teacher's view into this session's widgets, before they are drawn (the URL follows them)."""
    values = _typed(view.get("params", {}))
    st.session_state.update(values)
    url_state.remember(values)
    cell = {k: str(v) for k, v in view.get("cell", {}).items() if k in url_state.CELL_KEYS}
    for key in url_state.CELL_KEYS:
        if key in cell:
            st.session_state[key] = cell[key]
        else:
            st.session_state.pop(key, None)
    st.session_state[url_state.CELL_PICKS] = cell
    st.session_state["quiz_draw"] = int(view.get("draw", 0))
    st.session_state[APPLIED] = view


def _go(version, view):  # rerun the page on the teacher's view: ``follow`` moves to its page and applies it
    if view.get("page") not in PATHS:
        return
    st.session_state[PENDING] = (version, view)
    # The whole page reruns, and switches page from there, before it draws anything: a switch from
    # within this fragment's run would let the fragment's last messages reach the new page's tree.
    st.rerun(scope="app")


def _check(navigate_now=False):
    """One look at the class: the small answer unless the teacher's view changed; then follow it."""
    try:
        found = store().poll(code(), student_id(), st.session_state.get(VERSION, 0))
    except classroom.StoreUnavailable:
        if not st.session_state.get(OFFLINE):
            st.session_state[OFFLINE] = True
            st.rerun(scope="app")  # says so on the page
        return
    if st.session_state.pop(OFFLINE, False):
        st.rerun(scope="app")
    if found.state != "live":
        _leave("info", "The teacher ended the class. You keep exploring on your own from here.")
        st.rerun(scope="app")
    revealed_now = found.revealed != st.session_state.get(REVEALED, "")
    st.session_state[REVEALED] = found.revealed
    if found.view is None:
        if revealed_now and following():
            st.rerun(scope="app")
        return
    if following() or navigate_now:
        # VERSION becomes this version once the view is applied (``follow``): a rerun that did not happen
        # (cut short by another) is asked again at the next check, never lost.
        _go(found.version, found.view)
    else:
        st.session_state[VERSION] = found.version


@st.fragment(run_every=class_session.POLL_S)
def _student_check():
    if code() and not teaching():
        _check()


def follow(page, first_run, raw_params):  # -> the link's parameters the sidebar still has to check
    """Before the sidebar's widgets: join the class a link names, and apply the teacher's view.

    A following student's settings are the teacher's, whatever the link said: no notice about them."""
    if not (code() or st.query_params.get(URL_CLASS)):
        return raw_params  # outside a class: nothing to do, the store untouched
    _enter_from_url(first_run)
    pending = st.session_state.get(PENDING)
    if pending and following():
        version, view = pending
        if view["page"] != page.path:  # the teacher's page first; the view is applied there
            st.switch_page(view["page"], query_params={URL_CLASS: code()})
        st.session_state.pop(PENDING)
        _apply(view)
        st.session_state[VERSION] = version
    return {} if following() else raw_params


# --- The teacher ----------------------------------------------------------------------------------


def _view(page, settings, trace):  # -> what the students follow: page, settings, cell, question
    key = predict_first.question_key(trace, settings, page.stage)
    return {
        "page": page.path,
        "params": {k: v for k, v in settings.link_params.items() if k not in NOT_FOLLOWED},
        "cell": {
            k: v
            for k, v in st.session_state.get(url_state.CELL_PICKS, {}).items()
            if k in url_state.CELL_KEYS
        },
        "draw": st.session_state.get("quiz_draw", 0),
        "qid": class_session.question_id(key) if key else "",
    }


def _publish(view):  # -> False when the class is gone (the session left it)
    if view == st.session_state.get(PUBLISHED):
        return True
    try:
        store().publish(code(), st.session_state[KEY], view, view["qid"])
    except classroom.StoreUnavailable:
        st.session_state[OFFLINE] = True
        return True
    except (classroom.NoSuchClass, classroom.NotTeacher):
        _leave("info", "This class has ended (4 hours without activity, or ended in another tab).")
        return False
    except ValueError as error:  # a view past the store's bound: the students keep the last one
        st.warning(f"The class cannot follow this view: {error}.")
        return True
    st.session_state.pop(OFFLINE, None)
    st.session_state[PUBLISHED] = view
    return True


def _start(page, settings, trace):
    try:
        new_code, key = store().create({})
    except classroom.StoreUnavailable:
        _notice("error", f"{UNAVAILABLE}. Everything else works as usual.")
        return
    _reset()
    st.session_state.update({CODE: new_code, KEY: key})
    st.session_state.pop(LEFT, None)
    _publish(_view(page, settings, trace))


def _end():
    try:
        store().end(code(), st.session_state[KEY])
    except classroom.StoreUnavailable:
        _notice("error", f"{UNAVAILABLE}: the class was not ended; try again in a moment.")
        return
    except (classroom.NoSuchClass, classroom.NotTeacher):
        pass
    _leave("info", "The class has ended for everyone.")


def join_link():  # -> the address a student opens: the app's root with the class code only
    address = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    page = st.session_state.get("ui_page", OVERVIEW.path)
    here = next((p for p in PAGES if p.path == page), OVERVIEW)
    root = address.path.removesuffix(here.url_path).rstrip("/") + "/"
    query = urllib.parse.urlencode({URL_CLASS: code()})
    return urllib.parse.urlunsplit((address.scheme, address.netloc, root, query, ""))


def qr_svg(link):  # -> the join link's QR code as SVG (segno, offline), black on white; None: too long
    # An SVG goes into the page itself (a data: URI), not into Streamlit's media files: an earlier run's
    # file could be gone when the browser asked for it (a broken image where the code was, in the tests).
    try:
        qr = segno.make(link, error="m")
    except segno.DataOverflowError:  # over 2,331 bytes: a server with a very long base path
        return None
    return qr.svg_inline(scale=5, border=2, dark="black", light="white", omitsize=True)


@st.fragment(run_every=class_session.TEACHER_POLL_S)
def _teacher_count(view):
    """The students present, live; a cell picked since the page ran (a fragment's rerun) is published."""
    if not teaching():
        return
    latest = view | {
        "cell": {
            k: v
            for k, v in st.session_state.get(url_state.CELL_PICKS, {}).items()
            if k in url_state.CELL_KEYS
        }
    }
    if not _publish(latest):
        st.rerun(scope="app")
    try:
        students = store().summary(code(), "").students
    except classroom.NoSuchClass:
        _leave("info", "This class has ended.")
        st.rerun(scope="app")
    except classroom.StoreUnavailable:
        st.markdown(f"**{UNAVAILABLE}**: the students' pages wait for it.")
        return
    st.metric("Students", students, help="Students who joined and have the page open now.")


# The bar's border clear of Streamlit's header; its QR code large enough to scan across a room when projected.
_STYLE = "<style>.st-key-class_bar{margin-top:0.6rem}</style>"


def _teacher_bar(view):
    link = join_link()
    with st.container(border=True, key="class_bar"):
        qr, words, join_code, count = st.columns([1, 3, 1.4, 1.1], vertical_alignment="center")
        if svg := qr_svg(link):
            qr.image(svg, width=170 if st.session_state.get("present") else 110)
        else:
            qr.caption("The link is too long for a QR code: share the link or the join code.")
        words.markdown("**Live class.** Scan the code, open the link or type the join code:")
        words.code(link, language=None, wrap_lines=True)
        join_code.metric("Join code", code())
        with count:
            _teacher_count(view)


# --- A student ------------------------------------------------------------------------------------


def _stop_following():
    # A follower's sidebar draws no settings (``ui.sidebar``): its widgets, drawn again, start from the view.
    st.session_state.update(followed_values())
    st.session_state[FOLLOWING] = False


def _student_bar():
    with st.container(border=True, key="class_bar"):
        words, button = st.columns([4, 1.3], vertical_alignment="center")
        if following():
            words.markdown(f"**Live class {code()}** · following the teacher")
            button.button("Explore on my own", key="class_explore", on_click=_stop_following, width="stretch")
        else:
            words.markdown(f"**Live class {code()}** · exploring on your own")
            if button.button("Follow the teacher", key="class_follow", type="primary", width="stretch"):
                st.session_state.update({FOLLOWING: True, VERSION: 0})
                _check(navigate_now=True)
        if st.session_state.get(OFFLINE):
            st.warning(f"{UNAVAILABLE}: your page waits for the class.", icon=":material/cloud_off:")
        _student_check()


def _send_nickname():
    try:
        store().join(code(), student_id(), st.session_state.get("class_nickname", ""))
    except (classroom.StoreUnavailable, classroom.NoSuchClass, classroom.ClassFull):
        _notice("warning", f"{UNAVAILABLE}: your nickname was not sent.")


# --- The sidebar and the page ---------------------------------------------------------------------


def _sidebar(page, settings, trace):
    sidebar = st.sidebar
    sidebar.divider()
    if teaching():
        sidebar.markdown(f"**Live class {code()}**")
        with sidebar.expander("Your teacher link (keep it private)", icon=":material/key:"):
            st.code(
                url_state.view_link(page, settings.link_params | _class_params()),
                language=None,
                wrap_lines=True,
            )
            st.caption("Opens the class as its teacher in another tab or on another machine. Never share it.")
        if sidebar.button("End the class", key="class_end", icon=":material/stop_circle:"):
            _end()
            st.rerun()
        return
    if code():
        sidebar.markdown(f"**Live class {code()}**")
        sidebar.text_input(
            "Your nickname (optional)",
            key="class_nickname",
            max_chars=MAX_NICKNAME,
            on_change=_send_nickname,
            help="The teacher sees it beside your answers; leave it empty to stay anonymous.",
        )
        if sidebar.button("Leave the class", key="class_leave", icon=":material/logout:"):
            with contextlib.suppress(classroom.StoreUnavailable):
                store().leave(code(), student_id())
            _leave("info", "You left the class.")
            st.rerun()
        return
    if sidebar.button("Start a live class", key="class_start", icon=":material/groups:", width="stretch"):
        _start(page, settings, trace)
        st.rerun()
    # A new code in the box (Enter, or leaving the box) is tried once; Join tries it again, unless the box's
    # own run just did (a click on Join first leaves the box): each wrong try counts once.
    typed = sidebar.text_input("Join a class", placeholder="class code, e.g. K7MRTX")
    clicked = sidebar.button("Join", key="class_join", icon=":material/login:")
    last, at = st.session_state.get(TYPED, ("", 0.0))
    if typed and (typed != last or (clicked and time.monotonic() - at > 1.0)):
        st.session_state[TYPED] = (typed, time.monotonic())
        if _join(typed):
            _check(navigate_now=True)
            st.rerun()


def _draw_notice():
    # A newer run (the timed check, a click) stops this one, and what it drew may never reach the browser:
    # "The class has ended for everyone." was lost so about once in 35 under load. The runs of the next
    # NOTICE_S seconds draw it again; the first run after them forgets it.
    if not (notice := st.session_state.get(NOTICE)):
        return
    kind, message, first = notice
    now = time.monotonic()
    if first is not None and now - first > NOTICE_S:
        del st.session_state[NOTICE]
        return
    if first is None:
        st.session_state[NOTICE] = (kind, message, now)
    getattr(st, kind)(message)


def draw(page, settings, trace):
    """The class's part of every page: its sidebar section, then the teacher's or the student's bar."""
    _sidebar(page, settings, trace)
    _draw_notice()
    if not code():
        return
    st.html(_STYLE)
    for name, value in _class_params().items():  # a page link or presenter's switch dropped them
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    if teaching():
        view = _view(page, settings, trace)
        if _publish(view):
            _teacher_bar(view)
        else:
            _draw_notice()
        return
    _student_bar()
