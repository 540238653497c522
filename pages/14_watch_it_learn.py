import streamlit as st

from attention_core.families import FAMILIES, Busy
from attention_core.families.trained import run_ready, training_run
from attention_core.training import TASKS, WORDS, probe_tokens
from attention_viz import charts, frames
from ui import limits, render, url_state
from ui.columns import columns
from ui.models import option_ui
from ui.page import page_setup
from ui.pages import page_at, stage_page

PAGE = page_at("pages/14_watch_it_learn.py")
TRAINED = FAMILIES["trained"]
settings, _ = page_setup(PAGE, compute=False)
PLAY_STEP = 20  # steps per frame while playing


st.title(PAGE.title)
st.markdown(
    "W_q, W_k and W_v are **learned**. Here one attention layer (with its own embeddings of "
    f"{len(WORDS)} words and a readout) starts from random weights and is trained, by gradient descent "
    "in NumPy, on a small task that needs attention. Move the slider to watch the probe sentence's "
    "scores and weights go from noise to the pattern that solves the task."
)
left, right = st.columns(2)
task_name, seed = (
    option_ui(TRAINED.option(name), left) for name in PAGE.draws
)  # the trained family's options
task = TASKS[task_name]
right.markdown(f"**{task.title}.** {task.explanation}")
right.caption("Knows the words: " + ", ".join(WORDS))

bar = st.empty()  # a progress bar while it trains; a run already trained in this process appears at once


def show(step, total):
    bar.progress(step / total, text=f"Training… step {step} of {total}")


try:
    if not run_ready(task_name, seed):  # a new layer costs seconds of the server's time: a few a minute
        limits.allowance("training").take()
    run = training_run(task_name, seed, progress=show)
except Busy as error:
    bar.empty()
    st.info(str(error), icon=":material/hourglass:")
    st.stop()
bar.empty()
steps = len(run.loss)


def _start_playing():  # from the start again when the slider is at the end
    if st.session_state.get("playing") and st.session_state.get("step", steps) >= steps:
        st.session_state["step"] = 0


if st.session_state.pop("ui_played_to_end", False):
    st.session_state["playing"] = False  # before the switch is drawn
# Outside the fragment: switching it reruns the page, which sets the fragment's timer.
playing = st.toggle("Play", key="playing", on_change=_start_playing, help="Moves the slider on by itself.")


@st.fragment(run_every=0.6 if playing else None)
def draw_training():
    if playing:  # a frame: the slider moves on; at the end, the whole page reruns to stop the timer
        st.session_state["step"] = min(steps, st.session_state.get("step", steps) + PLAY_STEP)
        if st.session_state["step"] >= steps:
            st.session_state["ui_played_to_end"] = True
            st.rerun()
    step = st.slider("Training step", 0, steps, steps, step=10, key="step", bind=url_state.bound("step"))
    shot = run.snapshots[step // 10]
    words = frames.token_labels(task.probe)  # a repeated word gets its occurrence: the, the²
    at = max(step - 1, 0)
    st.markdown(
        f"Step **{step}** of {steps}: loss {run.loss[at]:.3f}, **{run.accuracy[at]:.0%}** of a batch's "
        "targets right."
        if step
        else "Step **0**: the random start."
    )
    curve_left, curve_right = columns(2)
    for (column, px), (values, title) in zip(
        (curve_left, curve_right), ((run.loss, "loss"), (run.accuracy, "accuracy")), strict=True
    ):
        with column:
            render.draw_figure(
                charts.training_curve(values, title, step, px),
                f"training_{title}",
                f"{title} over {steps} training steps; at step {step}: {values[at]:.3f}",
            )
    places = columns(3)
    panels = (
        (shot.scores, "raw scores Q·Kᵀ", "signed"),
        (shot.weights, "attention weights", "weights"),
        (task.pattern(probe_tokens(task)), "the pattern that solves it", "weights"),
    )
    for (column, px), (values, title, kind) in zip(places, panels, strict=True):
        with column:
            render.draw_heatmap(
                values, words, words, f"learn_{kind}_{title.split()[0]}", room=px, kind=kind, title=title,
                row_name="query", column_name="key", download=False,
            )  # fmt: skip
    st.subheader("W_q · W_kᵀ: which embedding directions a query looks for in a key")
    product = shot.w_q[0] @ shot.w_k[0].T  # [d_model, d_model]
    dims = [f"x{m + 1}" for m in range(product.shape[0])]
    render.draw_heatmap(product, dims, dims, "wq_wkT", title=f"W_q W_kᵀ at step {step}", download=False)


draw_training()

st.subheader("Walk the stages with the learned weights")
st.markdown(
    "The trained layer is a model like the others: open any stage with it (the sentence must use its "
    f"{len(WORDS)} words)."
)
params = {**settings.link_params, "model": TRAINED.key, "task": task_name, "train_seed": str(seed)}
params.setdefault("sentence", " ".join(task.probe))
for column, slug in zip(st.columns(4) * 2, TRAINED.stages, strict=False):
    page = stage_page(slug)
    column.page_link(page.link, label=page.title_for(TRAINED), query_params=params)
