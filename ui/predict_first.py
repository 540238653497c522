"""Predict first: a question about the current trace before its numbers, a verdict, and a tally.

Each stage with a question declares it (``StageView.question``); the answers stay hidden until a guess
is committed. Choosing a guess reruns the question's box alone (``st.fragment``). In a live class the
question goes to the room instead (``ui.class_poll``), drawn as the teacher's draw made it.
"""

import streamlit as st

from attention_viz import quiz, stages
from ui import class_poll, render


def _reveal(key, question, guess_key):
    right, message = quiz.grade(question, st.session_state[guess_key])
    st.session_state.setdefault("quiz_answers", {})[key] = (right, message)
    st.session_state["quiz_right"] = st.session_state.get("quiz_right", 0) + right
    st.session_state["quiz_total"] = st.session_state.get("quiz_total", 0) + 1


def _next_question():
    st.session_state["quiz_draw"] = st.session_state.get("quiz_draw", 0) + 1


def _quiz_key(
    trace, settings, slug
):  # -> (draw, the key of this stage's current question for these settings)
    draw = st.session_state.get("quiz_draw", 0)
    source = trace.source
    return (
        draw,
        f"{slug}|{draw}|{source.family}|{source.layer}|{source.options}|{settings.head}|{trace.tokens}",
    )


def question_key(trace, settings, slug):  # -> the key of the question the page asks now, or None
    if trace is None or not settings.predict or slug is None or stages.VIEWS[slug].question is None:
        return None
    return _quiz_key(trace, settings, slug)[1]


def predict_gate(trace, settings, slug):  # -> True once the page may show its numbers
    """Predict first: a question about this trace; the answers stay hidden until a guess is committed."""
    if not settings.predict or stages.VIEWS[slug].question is None:
        return True
    draw, key = _quiz_key(trace, settings, slug)
    if (shown := class_poll.gate(trace, settings, slug, draw, key, _next_question)) is not None:
        return shown
    answered = key in st.session_state.get("quiz_answers", {})
    _draw_question(trace, settings, slug, answered)
    return answered


@st.fragment
def _draw_question(trace, settings, slug, answered):
    """The question box: choosing a guess reruns the box alone; Reveal and Next rerun the page."""
    draw, key = _quiz_key(trace, settings, slug)
    question = stages.VIEWS[slug].question(trace, settings.head, draw)
    with st.container(border=True, key="quiz"):
        st.markdown(f"**Predict first.** {render.escape_markdown(question.prompt)}")
        if not answered:
            guess_key = f"quiz_guess_{slug}_{draw}"
            if question.options:  # no preselected answer: a guess has to be a choice
                st.radio("Your guess", question.options, index=None, key=guess_key, horizontal=True)
            else:
                st.number_input("Your guess", value=None, step=0.1, format="%.2f", key=guess_key)
            if st.button(
                "Reveal", key="quiz_reveal", type="primary", disabled=st.session_state.get(guess_key) is None
            ):
                _reveal(key, question, guess_key)
                st.rerun()  # the whole page: its numbers appear below
            return
        right, message = st.session_state["quiz_answers"][key]
        (st.success if right else st.warning)(f"{message} {render.escape_markdown(question.reveal)}")
        tally = f"Right so far: {st.session_state.get('quiz_right', 0)} of {st.session_state.get('quiz_total', 0)}"
        left, right_column = st.columns([3, 1])
        left.caption(tally)
        if right_column.button("Next question", key="quiz_next"):
            _next_question()
            st.rerun()  # the whole page: its numbers hide again
