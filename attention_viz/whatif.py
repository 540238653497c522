"""Helpers of the "What if?" and "Compare" pages: an edit in, the recomputed trace and what changed out.

Plain functions, no Streamlit, so tests call them directly. Every number comes from
``attention_core.attend``; these helpers only choose its inputs and compare its outputs.
"""

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attention_core import Weights, attend
from attention_viz import charts, frames

TARGETS = ("x", "w_q", "scores")  # what the "What if?" page lets the student edit
EDIT_LIMIT = 1000.0  # typed numbers are held within ±this: far past anything instructive, no overflow
CHANGED_ATOL = 1e-12  # a smaller difference is floating-point rounding, not a change
OUTLINE_COLORS = (("black", 4), ("white", 1.5))  # a black-white-black frame shows on every colour scale


@dataclass(frozen=True)
class Result:
    """One matrix the page shows after an edit, declared once for the page and its tests."""

    name: str  # chart keys chart_whatif_<name> and chart_whatif_<name>_change
    title: str
    field: str  # the AttentionTrace field
    per_head: bool  # True: the head shown's slice; False: the whole layer
    columns: str | None  # prefix of the column labels; None: the tokens (a query × key matrix)
    kind: str = "signed"  # heatmap colours


RESULTS = (
    Result("Q", "Q = X · W_q", "q", True, "q"),
    Result("K", "K = X · W_k", "k", True, "k"),
    Result("V", "V = X · W_v", "v", True, "v"),
    Result("scores", "raw scores Q·Kᵀ", "scores", True, None),
    Result("weights", "softmax weights", "weights", True, None, "weights"),
    Result("head_output", "head output = weights · V", "head_outputs", True, "v"),
    Result("output", "layer output (all heads · W_o)", "output", False, "y"),
)
AFFECTED = {  # target -> the results an edit of it can change, in the order of the stages
    "x": ("Q", "K", "V", "scores", "weights", "head_output", "output"),
    "w_q": ("Q", "scores", "weights", "head_output", "output"),
    "scores": ("weights", "head_output", "output"),
}


def result(name):  # -> the Result called name
    return next(r for r in RESULTS if r.name == name)


def result_matrix(trace, name, head):  # -> the matrix of that result for the head shown
    spec = result(name)
    matrix = getattr(trace, spec.field)
    return matrix[head] if spec.per_head else matrix


def result_labels(trace, name):  # -> (row labels, column labels) of that result
    spec = result(name)
    tokens = frames.token_labels(trace.tokens)
    columns = (
        tokens
        if spec.columns is None
        else frames.dim_labels(spec.columns, result_matrix(trace, name, 0).shape[-1])
    )
    return tokens, columns


def target_matrix(trace, target, head):  # -> the editor's start: [n, d_model], [d_model, d_k] or [n, n]
    return {"x": trace.x, "w_q": trace.w_q[head], "scores": trace.scores[head]}[target]


def target_labels(trace, target):  # -> (row labels, column labels) of the editor
    tokens = frames.token_labels(trace.tokens)
    x_dims = frames.dim_labels("x", trace.x.shape[-1])
    return {
        "x": (tokens, x_dims),
        "w_q": (x_dims, frames.dim_labels("q", trace.w_q.shape[-1])),
        "scores": (tokens, tokens),
    }[target]


def weights_of(trace):  # AttentionTrace -> its Weights, shared, not copied: attend() never writes to them
    return Weights(trace.w_q, trace.w_k, trace.w_v, trace.w_o, trace.b_q, trace.b_k, trace.b_v, trace.b_o)


def recompute(trace, target, head, edited):
    """Stages 2-7 again with the head shown's X, W_q or raw scores replaced by ``edited``."""
    x, weights, scores = trace.x, weights_of(trace), None
    if target == "x":
        x = edited
    elif target == "w_q":
        w_q = trace.w_q.copy()  # a MiniLM trace's arrays are read-only and shared by every session
        w_q[head] = edited
        weights = dataclasses.replace(weights, w_q=w_q)
    else:
        scores = trace.scores.copy()
        scores[head] = edited  # the other heads keep their own Q·Kᵀ
    return attend(
        trace.config, trace.tokens, x, trace.positional, weights, scores=scores, **_as_computed(trace)
    )


def rerun(trace, **changes):  # AttentionTrace, config fields -> the same X and weights under changed settings
    config = dataclasses.replace(trace.config, **changes)
    return attend(config, trace.tokens, trace.x, trace.positional, weights_of(trace), **_as_computed(trace))


def _as_computed(trace):  # attend()'s arguments that make it compute as the trace's model did
    return {"source": trace.source, "rope_theta": trace.rope_theta, "kv_heads": trace.kv_heads}


def resizes(
    editing_state,
):  # a data editor's state (its session-state value) -> whether it adds or deletes rows
    return isinstance(editing_state, dict) and bool(
        editing_state.get("added_rows") or editing_state.get("deleted_rows")
    )


class EditShapeError(ValueError):
    """An edit that changes the matrix's shape: the editor's rows and columns are fixed."""


def accepted(before, edited):  # [r, c], [r, c] -> [r, c]
    """What the editor's numbers mean: a cleared cell keeps its value, others stay within ±EDIT_LIMIT.

    Raises ``EditShapeError`` for any other shape (rows added or deleted by a client that ignores the
    editor's fixed size)."""
    before = np.asarray(before, dtype=np.float64)
    try:
        edited = np.asarray(edited, dtype=np.float64)
    except (TypeError, ValueError):  # text in a number cell, ragged rows
        raise EditShapeError("The edit is not a table of numbers.") from None
    if edited.shape != before.shape:
        raise EditShapeError(
            f"The table is {before.shape[0]} × {before.shape[1]}: rows and columns cannot be added or removed."
        )
    return np.where(np.isnan(edited), before, np.clip(edited, -EDIT_LIMIT, EDIT_LIMIT))


def changed_cells(before, after, atol=CHANGED_ATOL):  # [r, c], [r, c] -> [r, c] bool
    return np.abs(np.asarray(after) - np.asarray(before)) > atol


def largest_change(before, after):  # [r, c], [r, c] -> the largest absolute difference
    return float(np.abs(np.asarray(after) - np.asarray(before)).max(initial=0.0))


def edits(before, after, rows, columns):  # -> [(row label, column label, old, new)] of each changed cell
    return [
        (rows[i], columns[j], float(before[i, j]), float(after[i, j]))
        for i, j in zip(*np.nonzero(changed_cells(before, after)), strict=True)
    ]


def column_ids(count):  # -> "c1".."c<count>"; the labels, tokens even "_index", go in the column config
    return [f"c{m + 1}" for m in range(count)]


def editor_frame(matrix, rows):  # [r, c], r labels -> DataFrame with columns c1..c<c>, the editor's copy
    matrix = np.array(matrix, dtype=np.float64)  # np.array copies: a MiniLM trace's arrays are read-only
    return pd.DataFrame(matrix, index=list(rows), columns=column_ids(matrix.shape[1]))


def editor_key(target, *settings):  # -> a widget key that changes, so the editor starts afresh, with these
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:12]
    return f"whatif_editor_{target}_{digest}"


def change_summary(mask, noun):  # bool mask, "scores" -> "3 of 36 scores changed"
    changed, total = int(mask.sum()), mask.size
    if changed == 0:
        return f"no {noun} changed"
    return f"{'all' if changed == total else changed} of {total} {noun} changed"


def _outline_path(mask):  # [r, c] bool -> SVG path framing each True cell, in axis-domain fractions
    rows, columns = mask.shape
    boxes = []
    for i, j in zip(*np.nonzero(mask), strict=True):
        left, right = j / columns, (j + 1) / columns
        top, bottom = 1 - i / rows, 1 - (i + 1) / rows  # first row at the top
        boxes.append(f"M{left:.5g},{top:.5g} H{right:.5g} V{bottom:.5g} H{left:.5g} Z")
    return " ".join(boxes)


def _outlines(changed):  # [r, c] bool -> layout shapes framing each changed cell, unless every cell changed
    if not changed.any() or changed.all():
        return ()
    path = _outline_path(changed)
    return tuple(
        {
            "type": "path",
            "path": path,
            "xref": "x domain",
            "yref": "y domain",
            "line": {"color": c, "width": w},
        }
        for c, w in OUTLINE_COLORS
    )


def highlighted_heatmap(values, rows, columns, changed, **options):  # [r, c], labels, [r, c] bool -> figure
    """``charts.heatmap`` with a frame around each changed cell, unless every cell changed.

    A frame on every cell would only hide the numbers; the caption says "all" instead. The frames are
    placed in fractions of the axes (cell j of c spans j/c .. (j+1)/c), not at category positions, which
    Plotly would confuse with labels that look like numbers.
    """
    return charts.heatmap(values, rows, columns, shapes=_outlines(changed), **options)


def change_text(difference):  # -> the label printed in a changed cell: "+1.25", "-0.03", "+0.00"
    return f"{difference:+.2f}"  # a change below 0.005 keeps its sign: "+0.00" is a change, blank is none


def change_heatmap(before, after, rows, columns, **options):  # -> Plotly figure of after − before
    """The change, centred at zero, each changed cell framed and labelled.

    Unchanged cells stay blank, so a change too small for two decimals reads "+0.00" or "-0.00", never
    as no change.
    """
    changed = changed_cells(before, after)
    difference = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    text = [
        [change_text(d) if c else "" for d, c in zip(d_row, c_row, strict=True)]
        for d_row, c_row in zip(difference, changed, strict=True)
    ]
    return highlighted_heatmap(difference, rows, columns, changed, text=text, **options)


# The pages redraw these on every rerun: the figure for the same numbers is built once (charts.shared).
shared_after_heatmap = charts.shared(highlighted_heatmap)
shared_change_heatmap = charts.shared(change_heatmap)


def pair_labels(a, b):  # equal-length label lists -> one label per position: "cat→dog" where they differ
    return frames.token_labels([x if x == y else f"{x}→{y}" for x, y in zip(a, b, strict=True)])


def moved_rows(before, after):  # [n, n], [n, n] weights -> how many queries changed their strongest key
    return int((np.asarray(before).argmax(axis=-1) != np.asarray(after).argmax(axis=-1)).sum())


def mean_largest_weight(weights):  # [n, n] -> the average of each row's largest weight: 1/n flat, 1 one-hot
    return float(np.asarray(weights).max(axis=-1).mean())


def most_attended(weights, labels):  # [n, n] weights, n labels -> DataFrame: each query's strongest key
    strongest = np.asarray(weights).argmax(axis=-1)
    return pd.DataFrame(
        {
            "looks most at": [labels[j] for j in strongest],
            "weight": np.asarray(weights)[np.arange(len(labels)), strongest],
        },
        index=list(labels),
    )
