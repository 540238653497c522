"""The seven stages, declared once: navigation, page titles, exports and tests all read this."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    number: int  # 1..7, the order of the walkthrough
    slug: str  # the page's URL path and file name (pages/<number>_<slug>.py)
    title: str  # shown in the page list and as the page heading
    fields: tuple  # AttentionTrace fields this stage produces
    summary: str  # one line for the overview panel


STAGES = (
    Stage(1, "embedding", "Token embedding", ("x",), "Each token becomes a row of X."),
    Stage(2, "projection", "Linear projections", ("w_q", "w_k", "w_v"), "Learned W_q, W_k, W_v."),
    Stage(3, "qkv", "Queries, keys, values", ("q", "k", "v"), "Q = X W_q, K = X W_k, V = X W_v."),
    Stage(4, "scores", "Raw scores", ("scores",), "Q Kᵀ: how well each key matches each query."),
    Stage(5, "scaling", "Scaling by √d_k", ("scaled",), "Divide by √d_k so softmax does not saturate."),
    Stage(6, "softmax", "Softmax", ("weights",), "Each row becomes weights that sum to 1."),
    Stage(7, "output", "Weighted sum of values", ("head_outputs", "output"), "Output = Σ weight × V."),
)
