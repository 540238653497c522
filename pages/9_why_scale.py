import streamlit as st

from attention_core import scaling_experiment
from attention_viz import charts
from ui import render
from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/9_why_scale.py")
settings, trace = page_setup(PAGE)


@st.cache_resource(show_spinner="Running the experiment…")
def experiment_figures():  # -> [(title, figure, alt)]; the same random draw for everyone, plotted once per process
    result = scaling_experiment()
    plots = (
        ("variance of q·k", result.variance_raw, result.variance_scaled, True),
        ("largest weight in a row", result.max_weight_raw, result.max_weight_scaled, False),
        ("row entropy (nats)", result.entropy_raw, result.entropy_scaled, False),
        ("softmax gradient size", result.grad_norm_raw, result.grad_norm_scaled, False),
    )
    return [
        (
            title,
            charts.scaling_figure(result, raw, scaled, title, log_y=log_y),
            charts.describe_scaling(result, raw, scaled, title),
        )
        for title, raw, scaled, log_y in plots
    ]


st.title(PAGE.title)
st.markdown(
    "Take random queries and keys whose entries have variance 1 and compare them, for wider and wider "
    "vectors. A dot product adds d_k random terms, so **its variance is d_k**: at d_k = 1024 a typical score "
    "is about ±32. Softmax of such scores is almost one-hot — one key takes nearly all the weight, the row's "
    "entropy collapses, and the softmax's gradient (how much a small change to a score changes the weights) "
    "shrinks towards zero, so the model stops learning. Dividing by √d_k keeps every curve flat."
)
for column, (title, figure, alt) in zip(st.columns(2) * 2, experiment_figures(), strict=True):
    with column:
        st.markdown(f"**{title}**")
        render.draw_figure(figure, f"scaling_{title}", alt)
st.caption(
    "16 tokens, 64 random sentences per d_k. The gradient size is the Frobenius norm of the softmax "
    "Jacobian diag(p) − p pᵀ, averaged over rows."
)

st.subheader("On your sentence")
st.markdown(
    "Switch **Scale by √d_k** off in the sidebar and raise **d_k** under *Model settings*: the weights below "
    "turn from spread out to nearly all-or-nothing."
)
render.draw_score_pipeline(trace, settings.head)
render.draw_nav(PAGE, settings)
