"""Which matrices each stage shows, with their labels and titles: the one form every drawing starts from.

A stage's panels are what its page, the overview, the lesson file and the CSV downloads all draw; the
title of a matrix is written here and nowhere else.

    from attention_core import run_attention
    from attention_viz import panels
    trace = run_attention("the cat sat")
    for panel in panels.stage_panels(trace, "softmax"):
        panels.panel_figure(panel).show()
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from attention_viz import charts, frames, layout

# The trace's per-head fields: [heads, ...]; the others (x, embeddings, positional, output) have no head axis.
PER_HEAD = {
    "q_before_rotation",
    "k_before_rotation",
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

    name: str  # short, for chart keys and files: "scores", "W_q"
    title: str  # shown above the heatmap
    values: np.ndarray  # [r, c]
    rows: list  # r labels
    columns: list  # c labels
    kind: str = "signed"  # "signed": a scale centred at 0; "weights": 0..1
    row_name: str = "token"  # names the axes in the hover text
    column_name: str = "dimension"
    source: tuple = ()  # the trace's fields the numbers are, side by side (one head of a per-head field)

    def options(self):  # -> the heatmap options that say what the panel is (charts.heatmap, charts.describe)
        return {"kind": self.kind, "row_name": self.row_name, "column_name": self.column_name}


def numbers(trace, source, head=0):  # -> [r, c]: the fields named in source, side by side
    return np.hstack(
        [getattr(trace, name)[head] if name in PER_HEAD else getattr(trace, name) for name in source]
    )


def _matrix(trace, field, head, name, title, rows, columns, **options):  # one field of the trace as a Panel
    values = getattr(trace, field)
    values = values[head] if field in PER_HEAD else values
    return Panel(name, title, values, rows, columns, source=(field,), **options)


def _dims(prefix, matrix):
    return frames.dim_labels(prefix, matrix.shape[-1])


def embedding(trace, head=0):  # X, or E + P = X when positions are added
    tokens, x_dims = frames.token_labels(trace.tokens), _dims("x", trace.x)
    x = _matrix(trace, "x", head, "X", "X", tokens, x_dims)
    if not trace.positional.any():  # positions are learned inside X, or there are none
        return [x]
    return [
        _matrix(trace, "embeddings", head, "embeddings", "token embedding E", tokens, x_dims),
        _matrix(trace, "positional", head, "positional", "+ positional encoding P", tokens, x_dims),
        dataclasses.replace(x, title="= X"),
    ]


def projection(trace, head=0):  # W_q, W_k, W_v, and their biases where the model has them
    x_dims = _dims("x", trace.x)
    options = {"row_name": "input", "column_name": "output"}
    weights = [
        _matrix(
            trace, f"w_{p}", head, f"W_{p}", f"W_{p}", x_dims, _dims(p, getattr(trace, f"w_{p}")), **options
        )
        for p in "qkv"
    ]
    biases = [
        Panel(
            f"b_{p}", f"+ b_{p}", getattr(trace, f"b_{p}")[head][None, :], [f"b_{p}"],
            _dims(p, getattr(trace, f"b_{p}")), source=(f"b_{p}",), **options,
        )
        for p in "qkv"
        if getattr(trace, f"b_{p}")[head].any()
    ]  # fmt: skip
    return weights + biases


def projected(trace, name):  # "q" or "k" -> the field holding X W: before any rotation by position
    return f"{name}_before_rotation" if getattr(trace, f"{name}_before_rotation", None) is not None else name


def qkv(trace, head=0):  # Q, K and V of the head, as the projections make them
    tokens = frames.token_labels(trace.tokens)
    return [
        _matrix(trace, projected(trace, name.lower()), head, name, f"{name} ({role})", tokens, _dims(name.lower(), getattr(trace, name.lower())))
        for name, role in (("Q", "queries"), ("K", "keys"), ("V", "values"))
    ]  # fmt: skip


def rotate(trace, head=0):  # Q and K before and after their rotation by position
    tokens = frames.token_labels(trace.tokens)
    return [
        _matrix(trace, field, head, name, title, tokens, _dims(prefix, trace.q))
        for field, name, title, prefix in (
            ("q_before_rotation", "Q_before", "Q before rotation (X W_q)", "q"),
            ("q", "Q_rotated", "Q rotated by position", "q"),
            ("k_before_rotation", "K_before", "K before rotation (X W_k)", "k"),
            ("k", "K_rotated", "K rotated by position", "k"),
        )
    ]


def _cells(trace):  # a query × key matrix's labels
    tokens = frames.token_labels(trace.tokens)
    return {"rows": tokens, "columns": tokens, "row_name": "query", "column_name": "key"}


def scores(trace, head=0):
    return [_matrix(trace, "scores", head, "scores", "raw scores S = Q·Kᵀ", **_cells(trace))]


def scaling(trace, head=0):
    return [
        _matrix(trace, "scaled", head, "scaled", f"scaled scores S ÷ {trace.divisor:.4g}", **_cells(trace))
    ]


def softmax(trace, head=0):
    return [
        _matrix(trace, "weights", head, "weights", "A (softmax weights)", kind="weights", **_cells(trace))
    ]


def output(trace, head=0):  # the weights, and what they make of the values
    tokens = frames.token_labels(trace.tokens)
    return [
        *softmax(trace, head),
        _matrix(trace, "head_outputs", head, "head_output", "output = A · V", tokens, _dims("v", trace.head_outputs)),
    ]  # fmt: skip


def side_by_side(shown, name, title):  # [Panel] with the same rows -> one Panel of their columns
    """The overview's thumbnail of a stage: its panels' matrices next to each other (Q | K | V)."""
    first = shown[0]
    return dataclasses.replace(
        first,
        name=name,
        title=title,
        values=np.hstack([panel.values for panel in shown]),
        columns=[label for panel in shown for label in panel.columns],
        source=tuple(field for panel in shown for field in panel.source),
    )


THUMBNAIL_CELLS = 64  # a thumbnail is a few hundred pixels wide: MiniLM's 384 columns would be a smear


def thumbnail(panel, cells=THUMBNAIL_CELLS):  # -> the panel's first cells × cells (all of a small one)
    return dataclasses.replace(
        panel, values=panel.values[:cells, :cells], rows=panel.rows[:cells], columns=panel.columns[:cells]
    )


def panel_figure(panel, room=layout.ROOM_PX, **options):  # -> Plotly figure; options as charts.heatmap's
    return charts.heatmap(
        panel.values,
        panel.rows,
        panel.columns,
        room=room,
        title=options.pop("title", panel.title),
        **panel.options(),
        **options,
    )
