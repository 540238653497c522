"""The stages a trace can be walked through, declared once and keyed by slug.

A stage's slug names it everywhere: its page's URL path (``pages/<n>_<slug>.py``), its panels, checks,
question and text (``attention_viz.stages``). Its number is its place in a family's list of stages
(``Family.stages``), so a stage only one family has is one more row here, never a renumbering.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    slug: str  # the key everywhere, and the page's URL path
    title: str  # shown in the page list and as the page heading, after the stage's number
    fields: tuple  # AttentionTrace fields this stage produces
    summary: str  # one line for the overview panel


STAGES = {
    stage.slug: stage
    for stage in (
        Stage("embedding", "Token embedding", ("x",), "Each token becomes a row of X."),
        Stage("projection", "Linear projections", ("w_q", "w_k", "w_v"), "Learned W_q, W_k, W_v."),
        Stage("qkv", "Queries, keys, values", ("q", "k", "v"), "Q = X W_q, K = X W_k, V = X W_v."),
        Stage("scores", "Raw scores", ("scores",), "Q Kᵀ: how well each key matches each query."),
        Stage("scaling", "Scaling by √d_k", ("scaled",), "Divide by √d_k so softmax does not saturate."),
        Stage("softmax", "Softmax", ("weights",), "Each row becomes weights that sum to 1."),
        Stage("output", "Weighted sum of values", ("head_outputs", "output"), "Output = Σ weight × V."),
        # A decoder LLM's (attention_core.families.decoder): between Q, K, V and the scores.
        Stage(
            "rotate",
            "Rotation by position",
            ("q", "k"),
            "Q and K turned by an angle that grows with the position.",
        ),
    )
}
SEVEN = tuple(STAGES)[:7]  # the textbook's seven stages, in the order of the walkthrough


def stage_number(stages, slug):  # a family's stage list, a slug -> its number there, from 1
    return stages.index(slug) + 1
