"""The room's answers: a predict-first question asked of a whole live class.

The teacher's box counts, live, how many of the students present answered and what they chose
(``attention_viz.poll``), and has *Reveal to the class* and *Next question*; a following student's box
has the usual *Your guess* and sends it to the class (sending again replaces it), then shows the answer
and the room's guesses once the teacher reveals. Nicknames are plain text (``st.text``), never markdown.
"""

import streamlit as st

import classroom
from attention_viz import poll, quiz, stages
from ui import class_session, render
from ui.class_session import REVEALED

SENT = "class_sent"  # session: {question id: the guess this student sent}


def gate(
    trace, settings, slug, draw, key, next_question
):  # -> True once the numbers may show; None: no class
    """The class's version of the predict-first box, when this session is in a live class on this question.

    ``draw``, ``key``: the question's (``predict_first._quiz_key``); ``next_question``: what *Next question* does.
    """
    if not class_session.code():
        return None
    question = stages.VIEWS[slug].question(trace, settings.head, draw)
    qid = class_session.question_id(key)
    if class_session.teaching():
        return _teacher_gate(question, qid, next_question)
    if class_session.following() and qid == class_session.followed_question():
        _student_box(question, qid)
        return st.session_state.get(REVEALED) == qid
    return None


def _summary(qid):  # -> Summary, or None when the store cannot say
    try:
        return class_session.store().summary(class_session.code(), qid)
    except (classroom.StoreUnavailable, classroom.NoSuchClass):
        return None


def _teacher_gate(question, qid, next_question):
    summary = _summary(qid)
    revealed = summary is not None and summary.revealed == qid
    _teacher_box(question, qid, revealed, next_question)
    return revealed


def _names(summary):  # "Answered: Ada, Bob and 3 others" (nicknames only; most students choose none)
    named = sorted(summary.names[s] for s in summary.answers if s in summary.names)
    others = summary.answered - len(named)
    if not named:
        return ""
    return "Answered: " + ", ".join(named) + (f" and {others} other{'s' * (others != 1)}" if others else "")


def _draw_tally(question, summary, revealed, name):
    result = poll.tally(question, list(summary.answers.values()), revealed)
    if result.labels:
        render.draw_figure(poll.tally_figure(result), name, poll.describe_tally(result))


@st.fragment(run_every=class_session.TEACHER_POLL_S)
def _teacher_box(question, qid, revealed, next_question):
    summary = _summary(qid)
    if summary is not None and (summary.revealed == qid) != revealed:
        st.rerun()  # revealed from the teacher's other tab: the whole page, with its numbers
    with st.container(border=True, key="quiz"):
        st.markdown(f"**Predict first, with the class.** {render.escape_markdown(question.prompt)}")
        if summary is None:
            st.warning(f"{class_session.UNAVAILABLE}: the answers wait.", icon=":material/cloud_off:")
            return
        if revealed:
            st.success(
                f"The answer: “{render.escape_markdown(_shown(question, question.answer))}”. "
                f"{render.escape_markdown(question.reveal)}"
            )
        st.markdown(f"**{summary.answered} of {max(summary.students, summary.answered)} answered**")
        _draw_tally(question, summary, revealed, "class_guesses")
        if names := _names(summary):
            st.text(names)
        left, right = st.columns(2)
        if left.button(
            "Reveal to the class", key="class_reveal", type="primary", disabled=revealed, width="stretch"
        ):
            try:
                class_session.store().reveal(class_session.code(), st.session_state[class_session.KEY], qid)
            except (classroom.StoreUnavailable, classroom.NoSuchClass, classroom.NotTeacher):
                st.warning(f"{class_session.UNAVAILABLE}: nothing was revealed.")
                return
            st.rerun()  # the whole page: its numbers appear below
        if right.button("Next question", key="class_next", width="stretch"):
            next_question()
            st.rerun()


@st.fragment
def _student_box(question, qid):
    """A following student's box: choosing a guess reruns the box alone; the answer comes with the teacher."""
    revealed = st.session_state.get(REVEALED) == qid
    sent = st.session_state.setdefault(SENT, {}).get(qid)
    with st.container(border=True, key="quiz"):
        st.markdown(f"**Predict first, with the class.** {render.escape_markdown(question.prompt)}")
        if revealed:
            if sent is None:
                st.info(f"The answer: “{render.escape_markdown(_shown(question, question.answer))}”.")
            else:
                right, message = quiz.grade(question, sent)
                (st.success if right else st.warning)(message)
            st.markdown(render.escape_markdown(question.reveal))
            summary = _summary(qid)
            if summary is not None:
                st.caption(f"The class: {summary.answered} answered.")
                _draw_tally(question, summary, True, "class_guesses")
            return
        guess_key = f"class_guess_{qid}"
        if question.options:
            st.radio("Your guess", question.options, index=None, key=guess_key, horizontal=True)
        else:
            st.number_input("Your guess", value=None, step=0.1, format="%.2f", key=guess_key)
        guess = st.session_state.get(guess_key)
        if st.button("Send to the class", key="class_send", type="primary", disabled=guess is None):
            try:
                taken = class_session.store().answer(
                    class_session.code(), class_session.student_id(), qid, guess
                )
            except classroom.StoreUnavailable:
                taken = None
            if taken:
                st.session_state[SENT][qid] = sent = guess
            else:
                st.warning(
                    f"{class_session.UNAVAILABLE}: your answer was not sent."
                    if taken is None
                    else "The teacher has moved on: this question no longer takes answers."
                )
        if sent is not None:
            st.caption(
                f"Sent: “{render.escape_markdown(_shown(question, sent))}”. You may change it until the "
                "teacher reveals the answer."
            )
        else:
            st.caption("Your answer goes to the class: the teacher sees how many chose what, not who.")


def _shown(question, value):  # a guess or an answer as the box says it
    return str(value) if question.options else f"{float(value):.2f}"
