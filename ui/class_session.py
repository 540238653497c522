"""A live class as this browser session holds it: its code, its role, the store, and the words it shows.

``ui.live_class`` (joining, following, the bars) and ``ui.class_poll`` (the room's answers) both read
these. Nothing here touches the store unless the session is in a class, so pages outside a class never
depend on it.
"""

import hashlib
import logging
import secrets

import streamlit as st

import classroom

CODE = "class_code"  # session: the code of the class this session is in
KEY = "class_key"  # session: the teacher key, only in the teacher's session
STUDENT = "class_student"  # session: this browser session's random student id
FOLLOWING = "class_following"  # session: a student follows the teacher (False: exploring alone)
VERSION = "class_version"  # session: the version of the teacher's view last seen
APPLIED = "class_applied"  # session: the teacher's view last followed
REVEALED = "class_revealed"  # session: the id of the last question the teacher revealed
OFFLINE = "class_offline"  # session: the store did not answer the last check
URL_CLASS, URL_TEACHER = "class", "teacher"  # the link's parameters
UNAVAILABLE = "Live classes are unavailable right now"
POLL_S = 1.0  # a student's page checks the class this often: one small read
TEACHER_POLL_S = 1.0  # the teacher's count of students and answers
log = logging.getLogger(__name__)


def store():  # -> the process's ClassStore; StoreUnavailable for a setting it cannot use
    try:
        return classroom.store()
    except ValueError as error:
        log.error("%s", error)
        raise classroom.StoreUnavailable(str(error)) from error


def code():
    return st.session_state.get(CODE)


def teaching():
    return bool(code() and st.session_state.get(KEY))


def following():  # a student in a class who follows the teacher
    return bool(code()) and not teaching() and st.session_state.get(FOLLOWING, True)


def student_id():
    return st.session_state.setdefault(STUDENT, secrets.token_hex(8))


def question_id(key):  # a question's key (ui.predict_first) -> the short id the class answers under
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def followed_question():  # -> the id of the question the teacher's view shows ("" for none)
    return (st.session_state.get(APPLIED) or {}).get("qid", "")
