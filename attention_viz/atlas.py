"""The atlas of heads and attention across layers, as figures and texts; no Streamlit here.

``roles_figure`` draws every head of a model (``attention_core.heads.head_roles``) as one grid, layers ×
heads, each cell in its role's colour, with a legend of the roles below it, laid out for its pixels by
``layout.grid`` like every heatmap of the app; ``describe_roles`` is its text alternative and
``roles_frame`` its table. The colours are Okabe and Ito's, safe for every kind of colour blindness, and
keep their contrast on a light and a dark page.
"""

import html
import math

import numpy as np
import pandas as pd

from attention_core import heads
from attention_viz import charts, layout

ROLE_COLORS = {  # Okabe-Ito; the two sinks never meet in one model, so they share orange
    heads.INDUCTION: "#D55E00",  # vermillion: the rarest and most striking role
    heads.PREVIOUS: "#0072B2",  # blue
    heads.NEXT: "#56B4E9",  # sky blue: the previous token's mirror image
    heads.SELF: "#CC79A7",  # reddish purple
    heads.CLS: "#E69F00",  # orange: the sink
    heads.FIRST: "#E69F00",
    heads.SEP: "#009E73",  # bluish green
    heads.BROAD: "#999999",  # grey: no pattern
}
ROLE_TEXTS = {  # one sentence a student understands; what it is measured on follows on the page
    heads.PREVIOUS: "Each token looks at the token just before it, so that the layers above know what came one "
    "step earlier — the first step towards word pairs such as “New York”.",
    heads.NEXT: "Each token looks at the token just after it; only an encoder can, because it reads the whole "
    "sentence at once.",
    heads.SELF: "Each token looks mostly at itself: the head keeps, and reshapes, what the token already holds.",
    heads.INDUCTION: "A token looks back for an earlier copy of itself and attends to the token that followed "
    "it there: the head bets that what came next last time comes next again.",
    heads.CLS: "The head parks its weight on [CLS], the marker at the start: when it has nothing to look for "
    "it rests there, and what it reads there changes the output little.",
    heads.FIRST: "The head parks its weight on the text's first token, the attention sink: every position "
    "can see it, so it is where a head rests when nothing in the text concerns it.",
    heads.SEP: "The head parks its weight on [SEP], the marker at the end: another resting place.",
    heads.BROAD: "The head follows none of these patterns: its weight is spread (its score says how evenly, "
    "1 for even), often by what the words mean rather than where they stand.",
}
SWATCH_GAP_PX = 4  # between a legend entry's colour and its name
ENTRY_GAP_PX = 14  # between legend entries


def _index(role):  # its place in the colour scale
    return heads.ROLES.index(role)


def _colorscale():  # one flat band per role: role k's value k lands in band k of zmin..zmax
    count = len(heads.ROLES)
    scale = []
    for k, role in enumerate(heads.ROLES):
        scale += [[k / count, ROLE_COLORS[role]], [(k + 1) / count, ROLE_COLORS[role]]]
    return scale


def head_titles(layers, n_heads):  # -> row titles, column titles: "layer 0", "head 1" (heads from 1)
    return [f"layer {layer}" for layer in range(layers)], [f"head {head + 1}" for head in range(n_heads)]


def grid_of(roles):  # tuple of HeadRole -> (layers, heads)
    return 1 + max(r.layer for r in roles), 1 + max(r.head for r in roles)


def legend_entries(roles):  # -> [(role, count)] of the roles some head has, in ROLES order
    return [
        (role, sum(r.role == role for r in roles))
        for role in heads.ROLES
        if any(r.role == role for r in roles)
    ]


def legend_px(entries, tick_px, width):  # -> the legend's type size: the labels', unless an entry is wider
    def widest(px):
        return max(px + SWATCH_GAP_PX + layout.text_px(f"{role} ({count})", px) for role, count in entries)

    while tick_px > layout.MIN_NUMBER_PX and widest(tick_px) > width - 2 * layout.EDGE_PX:
        tick_px -= 1  # a narrow figure: smaller type rather than an entry cut off
    return tick_px


def _legend_lines(entries, tick_px, width):  # -> [[(x px, role, text)]] entries placed in lines of width px
    lines, x = [[]], layout.EDGE_PX
    for role, count in entries:
        text = f"{role} ({count})"
        size = tick_px + SWATCH_GAP_PX + layout.text_px(text, tick_px)
        if lines[-1] and x + size > width - layout.EDGE_PX:
            lines.append([])
            x = layout.EDGE_PX
        lines[-1].append((x, role, text))
        x += size + ENTRY_GAP_PX
    return lines


def roles_figure(
    roles, room=layout.ROOM_PX, *, shown=None, chosen=None, large=False, max_plot=layout.MAX_PLOT_PX
):
    """Every head as one cell, layers down and heads across, coloured by its role; a legend of the roles
    (with how many heads have each) below. ``shown``: a role, to leave every other head's cell empty;
    ``chosen``: (layer, head) from 0, outlined; ``large``: presenter mode's type. The hover names the layer,
    the head, its role and score; ``max_plot``: the cells' height at most, in px."""
    layers, n_heads = grid_of(roles)
    rows, columns = head_titles(layers, n_heads)
    z = np.full((layers, n_heads), np.nan)
    hover = [[""] * n_heads for _ in range(layers)]
    for r in roles:
        if shown in (None, r.role):
            z[r.layer, r.head] = _index(r.role)
        hover[r.layer][r.head] = html.escape(f"layer {r.layer} · head {r.head + 1}", quote=False) + (
            f"<br>{html.escape(r.role, quote=False)} · score {r.score:.2f}"
        )
    grid = layout.grid(rows, columns, (), room, large=large, max_plot=max_plot)
    plot_width, plot_height = n_heads * grid.cell_width, layers * grid.cell_height
    entries = legend_entries(roles)
    font_px = legend_px(entries, grid.tick_px, grid.width)
    line_px = font_px * layout.LINE
    lines = _legend_lines(entries, font_px, grid.width)
    below = grid.margin["b"] - layout.EDGE_PX + layout.TICK_GAP_PX  # the last row label's reach, a gap
    margin = {**grid.margin, "b": math.ceil(below + len(lines) * line_px + layout.EDGE_PX)}
    annotations, shapes = [], []
    for k, line in enumerate(lines):
        middle = plot_height + below + (k + 0.5) * line_px  # px below the top of the cells
        for x, role, text in line:
            left = (x - margin["l"]) / plot_width  # paper coordinates: 0..1 across the cells
            swatch = font_px * 0.8
            shapes.append(
                {
                    "type": "rect", "xref": "paper", "yref": "paper", "line": {"width": 0},
                    "fillcolor": ROLE_COLORS[role],
                    "x0": left, "x1": left + swatch / plot_width,
                    "y0": 1 - (middle - swatch / 2) / plot_height, "y1": 1 - (middle + swatch / 2) / plot_height,
                }
            )  # fmt: skip
            annotations.append(
                {
                    "xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "left", "yanchor": "middle",
                    "x": (x + font_px + SWATCH_GAP_PX - margin["l"]) / plot_width,
                    "y": 1 - middle / plot_height,
                    "text": html.escape(text, quote=False), "font": {"size": font_px},
                }
            )  # fmt: skip
    if chosen is not None:  # a white ring inside a black one: seen on every role's colour, in both themes
        layer, head = chosen
        for colour, width in (("#000000", 4), ("#ffffff", 1.5)):
            shapes.append(
                {
                    "type": "rect", "xref": "x", "yref": "y", "line": {"color": colour, "width": width},
                    "x0": head - 0.5, "x1": head + 0.5, "y0": layer - 0.5, "y1": layer + 0.5,
                }
            )  # fmt: skip
    trace = {
        "type": "heatmap",
        "z": z,
        "x": columns,
        "y": rows,
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "colorscale": _colorscale(),
        "zmin": -0.5,
        "zmax": len(heads.ROLES) - 0.5,
        "showscale": False,
        "xgap": 1 if grid.cell_width >= 6 else 0,
        "ygap": 1 if grid.cell_height >= 6 else 0,
    }
    fixed = {"automargin": False, "ticks": "", "ticklen": 0, "showgrid": False, "zeroline": False}
    tick_font = {"size": grid.tick_px}
    chart_layout = {
        "width": grid.width,
        "height": math.ceil(margin["t"] + plot_height + margin["b"]),
        "margin": {**margin, "pad": 0, "autoexpand": False},
        "xaxis": {
            **fixed, "side": "top", "type": "category", "tickangle": grid.x_angle,
            "ticklabelstandoff": grid.x_standoff, "tickmode": "array",
            "tickvals": [columns[j] for j in grid.x_shown], "tickfont": tick_font,
        },
        "yaxis": {
            **fixed, "autorange": "reversed", "type": "category", "tickmode": "array",
            "tickvals": [rows[i] for i in grid.y_shown], "tickfont": tick_font,
        },
        "annotations": annotations,
        "shapes": shapes,
    }  # fmt: skip
    return charts.figure([trace], chart_layout)


def _head_name(r):
    return f"layer {r.layer} head {r.head + 1}"


def describe_roles(roles, shown=None):
    """The grid's text alternative: its shape, then each role with its heads and scores (the many heads of a
    sink and the broad ones: their count and the strongest)."""
    layers, n_heads = grid_of(roles)
    parts = []
    for role, count in legend_entries(roles):
        if shown not in (None, role):
            continue
        mine = sorted((r for r in roles if r.role == role), key=lambda r: -r.score)
        if role in heads.SPECIFIC:
            listed = ", ".join(f"{_head_name(r)} {r.score:.2f}" for r in mine)
        else:
            listed = f"the strongest {_head_name(mine[0])} {mine[0].score:.2f}"
        parts.append(f"{role}: {count} ({listed})")
    what = f"roles of {layers} × {n_heads} heads (layers 0 to {layers - 1}, heads 1 to {n_heads})"
    return f"{what}{'' if shown is None else f', only {shown} shown'}; " + "; ".join(parts or ["none shown"])


def roles_frame(roles):  # -> DataFrame layers × heads of "role score": every cell of the grid as text
    layers, n_heads = grid_of(roles)
    rows, columns = head_titles(layers, n_heads)
    cells = [[""] * n_heads for _ in range(layers)]
    for r in roles:
        cells[r.layer][r.head] = f"{r.role} {r.score:.2f}"
    return pd.DataFrame(cells, index=rows, columns=columns)


def strongest(roles, role):  # -> the heads of that role, strongest first
    return sorted((r for r in roles if r.role == role), key=lambda r: (-r.score, r.layer, r.head))


def role_title(role):  # "previous token" -> "Previous token"; "[CLS]" stays
    return role[:1].upper() + role[1:]


ROLLOUT_CAPTION = (
    "Left: rows are tokens after the layers so far, columns the input tokens they draw from; each row sums to "
    "1. Right: the same layer's own attention, its heads averaged. Early on the rollout stays near the diagonal "
    "(the residual keeps each token itself); layer by layer it spreads to the tokens the heads read from. "
    "Rollout also counts the weight heads park on a sink, which carries little: in a model with many sink heads, "
    "such as SmolLM2, it gathers on the first token."
)
