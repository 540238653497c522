"""Which matrices each stage shows, with their labels, and those matrices as Plotly figures.

from attention_core import run_attention
from attention_viz import figures
trace = run_attention("the cat sat")
for panel in figures.stage_panels(trace, 6):
    figures.panel_figure(panel).show()
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from attention_core import STAGES
from attention_viz import charts, frames, layout

# The trace's per-head fields: [heads, ...]; the others (x, embeddings, positional, output) have no head axis.
PER_HEAD = {
    "w_q",
    "w_k",
    "w_v",
    "b_q",
    "b_k",
    "b_v",
    "q",
    "k",
    "v",
    "scores",
    "scaled",
    "weights",
    "head_outputs",
}


@dataclass(frozen=True)
class Panel:
    """One matrix a stage shows: its numbers, the labels of its rows and columns, and how to colour it."""

    name: str  # short, for files and ids: "scores", "W_q"
    title: str  # shown above the heatmap
    values: np.ndarray  # [r, c]
    rows: list  # r labels
    columns: list  # c labels
    kind: str = "signed"  # "signed": a scale centred at 0; "weights": 0..1
    row_name: str = "token"  # names the axes in the hover text
    column_name: str = "dimension"
    source: tuple = ()  # the trace's fields the numbers are, side by side (one head of a per-head field)


def overview_panels(trace, head=0):  # -> {stage: Panel}, one matrix per stage; Q, K, V side by side
    tokens = frames.token_labels(trace.tokens)
    config = trace.config
    x_dims = frames.dim_labels("x", config.d_model)
    qkv_dims = [
        *frames.dim_labels("q", config.d_k),
        *frames.dim_labels("k", config.d_k),
        *frames.dim_labels("v", config.d_v),
    ]
    matrices = {
        1: (("x",), tokens, x_dims, "signed"),
        2: (("w_q", "w_k", "w_v"), x_dims, qkv_dims, "signed"),
        3: (("q", "k", "v"), tokens, qkv_dims, "signed"),
        4: (("scores",), tokens, tokens, "signed"),
        5: (("scaled",), tokens, tokens, "signed"),
        6: (("weights",), tokens, tokens, "weights"),
        7: (("head_outputs",), tokens, frames.dim_labels("o", config.d_v), "signed"),
    }
    return {
        stage: Panel(
            f"overview_{stage}",
            f"{stage}. {STAGES[stage - 1].title}",
            numbers(trace, source, head),
            rows,
            columns,
            kind,
            source=source,
        )
        for stage, (source, rows, columns, kind) in matrices.items()
    }


THUMBNAIL_CELLS = 64  # a thumbnail is a few hundred pixels wide: MiniLM's 384 columns would be a smear


def thumbnail(panel, cells=THUMBNAIL_CELLS):  # -> the panel's first cells × cells (all of a small one)
    return dataclasses.replace(
        panel, values=panel.values[:cells, :cells], rows=panel.rows[:cells], columns=panel.columns[:cells]
    )


def numbers(trace, source, head=0):  # -> [r, c]: the fields named in source, side by side
    return np.hstack(
        [getattr(trace, name)[head] if name in PER_HEAD else getattr(trace, name) for name in source]
    )


def stage_panels(trace, stage, head=0):  # -> [Panel]: the matrices stage 1..7 computes, for one head
    tokens = frames.token_labels(trace.tokens)
    x_dims = frames.dim_labels("x", trace.config.d_model)

    def dims(prefix, matrix):
        return frames.dim_labels(prefix, matrix.shape[-1])

    if stage == 1:
        if trace.config.positional == "none" or trace.model != "random weights":
            return [Panel("X", "X", trace.x, tokens, x_dims, source=("x",))]
        return [
            Panel(
                "embeddings", "token embedding E", trace.embeddings, tokens, x_dims, source=("embeddings",)
            ),
            Panel(
                "positional",
                "+ positional encoding P",
                trace.positional,
                tokens,
                x_dims,
                source=("positional",),
            ),
            Panel("X", "= X", trace.x, tokens, x_dims, source=("x",)),
        ]
    if stage == 2:
        return [
            Panel(f"W_{p}", f"W_{p}", w[head], x_dims, dims(p, w), "signed", "input", "output", (f"w_{p}",))
            for p, w in (("q", trace.w_q), ("k", trace.w_k), ("v", trace.w_v))
        ]
    if stage == 3:
        return [
            Panel(name, f"{name} ({role})", m[head], tokens, dims(name.lower(), m), source=(name.lower(),))
            for name, role, m in (("Q", "queries", trace.q), ("K", "keys", trace.k), ("V", "values", trace.v))
        ]
    cells = {"rows": tokens, "columns": tokens, "row_name": "query", "column_name": "key"}
    if stage == 4:
        return [Panel("scores", "raw scores S = Q·Kᵀ", trace.scores[head], **cells, source=("scores",))]
    if stage == 5:
        title = f"scaled scores S ÷ {trace.divisor:.4g}"
        return [Panel("scaled", title, trace.scaled[head], **cells, source=("scaled",))]
    weights = Panel(
        "weights", "A (softmax weights)", trace.weights[head], kind="weights", **cells, source=("weights",)
    )
    if stage == 6:
        return [weights]
    output = trace.head_outputs[head]
    return [
        weights,
        Panel("head_output", "output = A · V", output, tokens, dims("v", output), source=("head_outputs",)),
    ]


def panel_figure(panel, room=layout.ROOM_PX, **options):  # -> Plotly figure; options as charts.heatmap's
    frame = frames.matrix_frame(panel.values, panel.rows, panel.columns)
    return charts.heatmap(
        frame,
        room=room,
        kind=panel.kind,
        title=options.pop("title", panel.title),
        row_name=panel.row_name,
        column_name=panel.column_name,
        **options,
    )


def stage_figures(trace, stage, head=0, room=layout.ROOM_PX):  # -> [figure]: stage_panels, drawn
    return [panel_figure(panel, room) for panel in stage_panels(trace, stage, head)]
