import streamlit as st

from attention_core import AttentionInputError
from attention_viz import budget, charts
from ui import models, render
from ui.columns import columns
from ui.models import option_ui
from ui.page import page_setup
from ui.pages import page_at
from ui.url_state import PAGE_OPTIONS

PAGE = page_at("pages/16_next_word.py")
settings, trace = page_setup(PAGE)
family = settings.family
PLAY_EVERY_S = 1.0  # a new token a second while playing
CONTINUATIONS = budget.SharedCache("continuations", budget.BUDGETS["continuations"])

st.title(PAGE.title)
if not family.writes:
    st.info(
        f"{family.title.capitalize()} does not write text. Choose **SmolLM2** under *Model* in the sidebar: a "
        "language model that predicts the next token (if it is missing, the note below the choice says why).",
        icon=":material/school:",
    )
    st.stop()
model = family.model()
if not render.presenting():
    st.markdown(
        "A language model reads the text and gives **every token of its vocabulary a probability of coming "
        "next**. To write, it draws one, adds it to the text and starts again. How it draws is yours to set: "
        "the **temperature** divides the scores before softmax (0 always takes the most likely; above 1 "
        "everything becomes more even), **top-k** keeps only the k most likely, **top-p** only the fewest whose "
        "probabilities add up to p. The grey bars are the tokens they cut."
    )

places = st.columns(4)
temperature, top_k, top_p, seed = (
    option_ui(PAGE_OPTIONS[name], place)
    for name, place in zip(("sample_temperature", "top_k", "top_p", "sample_seed"), places, strict=True)
)
draw = {
    "temperature": temperature,
    "top_k": top_k or None,
    "top_p": None if top_p >= 1 else top_p,
    "seed": seed,
}
most = PAGE_OPTIONS["steps"].high


def _go(by):  # step the continuation on (by 1), or back to the start (None)
    st.session_state["steps"] = 0 if by is None else min(most, st.session_state.get("steps", 0) + by)


if st.session_state.pop("ui_written_to_end", False):
    st.session_state["playing_words"] = False  # before the switch is drawn
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.button("Write one token", icon=":material/add:", on_click=_go, args=(1,), key="write_one")
    playing = st.toggle("Play", key="playing_words", help="Writes a token every second.")
    st.button("Start again", icon=":material/restart_alt:", on_click=_go, args=(None,), key="write_reset")


def continuation(steps):  # -> the first ``steps`` Steps, each continuing the one before (kept, shared)
    key = (model.name, settings.sentence, tuple(sorted(draw.items())))
    before = next(
        (CONTINUATIONS.peek((*key, k)) for k in range(steps - 1, 0, -1) if CONTINUATIONS.peek((*key, k))), ()
    )
    return CONTINUATIONS.get(
        (*key, steps), lambda: model.continue_text(settings.sentence, steps, before=before, **draw)
    )


@st.fragment(run_every=PLAY_EVERY_S if playing else None)
def draw_writing():
    if playing:  # a frame: one more token; at the end, the whole page reruns to stop the timer
        _go(1)
        if st.session_state["steps"] >= most:
            st.session_state["ui_written_to_end"] = True
            st.rerun()
    steps = option_ui(PAGE_OPTIONS["steps"], st)
    try:
        written = continuation(steps)
        ahead = continuation(steps + 1)[steps:] if steps < most else ()  # what would come next
    except (AttentionInputError, budget.Busy) as error:
        st.info(str(error), icon=":material/edit_note:")
        return
    new_ids = [step.drawn for step in written if step.drawn != model.eos_id]  # the end is said, not shown
    ended = len(new_ids) < len(written)
    new_text = model.decode(new_ids)
    text = settings.sentence + new_text
    written_part = new_text.strip()
    space = new_text[: len(new_text) - len(new_text.lstrip())]  # bold markdown cannot start with a space
    st.markdown(
        render.escape_markdown(settings.sentence + space)
        + (f"**{render.escape_markdown(written_part)}**" if written_part else "")
        + (" *(end of text: the model wrote its end-of-text token)*" if ended else " ▌")
    )
    (left, left_px), (right, right_px) = columns(2)
    if ahead:
        step = ahead[0]
        labels = model.token_texts(list(step.top))
        with left:
            st.markdown(f"**Next token** — drawn from {step.choices:,} of {len(model.pieces):,}")
            drawn = model.token_texts([step.drawn])[0]
            render.draw_figure(
                charts.next_token_bars(labels, step.probs, step.kept, drawn, left_px),
                "next_tokens",
                charts.describe_bars(labels, step.probs, step.kept),
            )
            st.caption(f"Drawn: **{render.escape_markdown(drawn)}** ({step.drawn_prob:.1%}), in orange.")
    with right:
        try:
            now = models.trace_for(family, settings.options, text)
        except (AttentionInputError, budget.Busy) as error:
            st.info(str(error), icon=":material/edit_note:")
            return
        tokens = render.labels(now)
        st.markdown(
            f"**What it was computed from** — the last token's attention, layer {settings.layer}, "
            f"head {settings.head + 1}"
        )
        render.draw_heatmap(
            now.weights[settings.head, -1:], tokens[-1:], tokens, "last_row", room=right_px, kind="weights",
            row_name="query", column_name="key", numbers=len(tokens) <= 12, download=False,
        )  # fmt: skip
    if written:
        st.subheader("Each token written")
        rows = [
            f"{k + 1}. **{render.escape_markdown(model.token_texts([s.drawn])[0])}** — {s.drawn_prob:.1%}, "
            f"drawn from {s.choices:,}"
            for k, s in enumerate(written)
        ]
        st.markdown("\n".join(rows))


draw_writing()
render.draw_nav(PAGE, settings)
