"""Matrices and their labels in, Plotly figures out; no Streamlit here, so tests can call these directly."""

import html
import math

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio

from attention_viz import budget, layout

# Colour scales as explicit lists (Plotly.js knows neither "_r" nor every name plotly.py accepts):
# RdBu reversed, blue below zero, red above, white at zero, rated colour-blind safe by ColorBrewer;
# Viridis, perceptually uniform, colour-blind safe and readable on light and dark backgrounds.
SIGNED_COLORS = plotly.colors.get_colorscale("RdBu_r")
WEIGHT_COLORS = plotly.colors.get_colorscale("Viridis")
# Streamlit's default Plotly template adds about 4 KB of styles for chart types these figures don't use;
# every figure here sets its own colours, so it uses Plotly's empty template: a third of the bytes to send.
NO_TEMPLATE = pio.templates["none"].to_plotly_json()  # as a dict: unvalidated figures don't look names up
LINE_COLORS = ("#0072B2", "#E69F00")  # Okabe-Ito blue and orange: colour-blind safe, light and dark


def _key_part(value):  # an argument of a figure's builder -> a small, hashable part of its cache key
    if isinstance(value, np.ndarray):
        return budget.digest(value)  # the numbers' digest, never a copy of them
    if isinstance(value, list | tuple):
        return tuple(_key_part(v) for v in value)
    return value


def shared(build, budget_bytes=None):
    """``build(*arrays_and_labels, **options)`` -> figure, built once per process for the same arguments.

    Building a figure validates every Plotly property (about 12 ms for a heatmap) and the pages draw
    the same figures on every rerun; st.plotly_chart only reads them, so they are shared, never changed.
    Arrays are keyed by a digest of their bytes; all the figures share one byte budget
    (``budget.BUDGETS["figures"]``) unless given their own.
    """
    cache = (
        FIGURES if budget_bytes is None else budget.SharedCache(build.__name__, budget_bytes, _figure_size)
    )

    def call(*args, **options):
        key = (
            build.__qualname__,
            _key_part(args),
            tuple(sorted((k, _key_part(v)) for k, v in options.items())),
        )
        # Own copies of the numbers: a view would keep a whole trace's array alive in the cache.
        args = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
        return cache.get(key, lambda: _Sized(build(*args, **options), args)).figure

    return call


FIGURE_BYTES = 16 * 1024  # a figure's own dicts and strings (measured with tracemalloc: 14 KB for 6 × 6)


class _Sized:  # a cached figure, and what it costs: its numbers, its labels, its own structure
    def __init__(self, figure, args):
        self.figure = figure
        self.size = FIGURE_BYTES + sum(
            a.nbytes if isinstance(a, np.ndarray) else 64 * len(a) if isinstance(a, list | tuple) else 0
            for a in args
        )


def _figure_size(sized):
    return sized.size


FIGURES = budget.SharedCache("figures", budget.BUDGETS["figures"], _figure_size)


def _plotly_text(labels):  # Plotly reads a few HTML tags in labels; escape so user text stays text
    return [html.escape(str(label), quote=False) for label in labels]


def figure(data, layout):  # plain trace and layout dicts -> a Plotly figure, built without validation
    """A figure from dicts, built as Plotly's own JSON would be, skipping property validation.

    Validating a heatmap's properties took 5-40 ms per new figure, most of the server's time when a
    class types new sentences; the properties here are fixed by this module, and the tests rebuild
    every kind of figure with validation on (``go.Figure(figure.to_dict())``), so a mistake still fails.
    """
    return go.Figure({"data": data, "layout": {"template": NO_TEMPLATE, **layout}}, _validate=False)


def heatmap(
    values,
    rows,
    columns,
    *,
    room=layout.ROOM_PX,
    kind="signed",
    title=None,
    row_name="row",
    column_name="column",
    numbers=True,
    colorbar=True,
    large=False,
    text=None,
    shapes=(),
    max_plot=layout.MAX_PLOT_PX,
):
    """A heatmap of ``values`` [r, c] with its r row and c column labels on the axes, first row at the top,
    laid out for ``room`` px.

    ``layout.grid`` decides the cells, the labels shown and whether numbers are printed (``numbers=False``:
    never); ``large`` sets presenter mode's type. kind="signed" centres a diverging scale at zero;
    kind="weights" fixes the scale to 0..1. ``row_name`` and ``column_name`` (e.g. "query", "key") name the
    axes in the hover text, which names every cell. ``text``: what each cell prints instead of its value;
    ``shapes``: layout shapes drawn over the cells; ``max_plot``: the cells' height at most, in px.
    """
    values = np.asarray(values, dtype=np.float64)
    labels = list(rows), list(columns)
    rows, columns = _plotly_text(labels[0]), _plotly_text(labels[1])
    if kind == "weights":
        scale = {"colorscale": WEIGHT_COLORS, "zmin": 0.0, "zmax": 1.0}
    else:
        limit = float(np.abs(values).max()) or 1.0
        scale = {"colorscale": SIGNED_COLORS, "zmin": -limit, "zmax": limit, "zmid": 0.0}
    ticks = (scale["zmin"], (scale["zmin"] + scale["zmax"]) / 2, scale["zmax"])  # the colour bar's labels
    tick_texts = [f"{tick:.3g}".replace("-", "−") for tick in ticks]
    texts = () if not numbers or not values.size else printed(values, text)
    grid = layout.grid(
        *labels, texts, room,
        large=large, title=title, colorbar=tick_texts if colorbar else (), max_plot=max_plot,
    )  # fmt: skip
    trace = {
        "type": "heatmap",
        "z": values,
        "x": columns,
        "y": rows,
        "hovertemplate": f"{row_name} %{{y}} · {column_name} %{{x}}<br>value %{{z:.4f}}<extra></extra>",
        "xgap": 1 if grid.cell_width >= 6 else 0,  # a gap would hide a narrow cell
        "ygap": 1 if grid.cell_height >= 6 else 0,
        "colorbar": {
            "thickness": 12,
            "x": 1,
            "xanchor": "left",
            "xpad": 6,
            "tickfont": {"size": grid.colorbar_px},
            "tickmode": "array",
            "tickvals": [ticks[k] for k in grid.colorbar_shown],
            "ticktext": [tick_texts[k] for k in grid.colorbar_shown],
        },
        "showscale": bool(grid.colorbar_shown),
        **scale,
    }
    if grid.number_px:
        trace["textfont"] = {"size": grid.number_px}
        trace |= (
            {"texttemplate": "%{text}", "text": text} if text is not None else {"texttemplate": "%{z:.2f}"}
        )
    tick_font = {"size": grid.tick_px}
    # Exactly this layout: Streamlit's theme would add tick marks, padding and automatic margins.
    fixed = {"automargin": False, "ticks": "", "ticklen": 0, "showgrid": False, "zeroline": False}
    chart_layout = {
        "width": grid.width,
        "height": grid.height,
        "margin": {**grid.margin, "pad": 0, "autoexpand": False},
        "xaxis": {
            **fixed,
            "side": "top",
            "type": "category",
            "tickangle": grid.x_angle,
            "ticklabelstandoff": grid.x_standoff,
            "tickmode": "array",
            "tickvals": [columns[j] for j in grid.x_shown],
            "tickfont": tick_font,
        },
        "yaxis": {
            **fixed,
            "autorange": "reversed",
            "type": "category",
            "tickmode": "array",
            "tickvals": [rows[i] for i in grid.y_shown],
            "tickfont": tick_font,
        },
    }
    if title:  # at the top left, above the column labels' margin
        chart_layout["title"] = {
            "text": html.escape(title, quote=False),
            "font": {"size": grid.title_px},
            "x": layout.EDGE_PX / grid.width,
            "xref": "container",
            "xanchor": "left",
            "y": 1 - layout.EDGE_PX / grid.height,
            "yref": "container",
            "yanchor": "top",
        }
    if shapes:
        chart_layout["shapes"] = list(shapes)
    return figure([trace], chart_layout)


def describe(values, rows, columns, what, *, kind="signed", row_name="row", column_name="column"):
    """A heatmap's text alternative: what it is, its shape, and where its largest value is (and, for signed
    values, its smallest): "softmax weights, 6 × 6; the row for sat puts most weight, 0.50, on on".

    Masked scores (−∞) are left out of the largest and smallest.
    """
    values = np.asarray(values, dtype=np.float64)
    shape = f"{what}, {values.shape[0]} × {values.shape[1]}"
    finite = np.where(np.isfinite(values), values, np.nan)
    if not np.isfinite(finite).any():
        return shape

    def where(index):
        i, j = np.unravel_index(index, values.shape)
        return f"{values[i, j]:.2f}".replace("-", "−"), rows[i], columns[j]

    value, row, column = where(np.nanargmax(finite))
    if kind == "weights":
        return f"{shape}; the row for {row} puts most weight, {value}, on {column}"
    low, low_row, low_column = where(np.nanargmin(finite))
    return (
        f"{shape}; largest {value} at {row_name} {row}, {column_name} {column}; "
        f"smallest {low} at {row_name} {low_row}, {column_name} {low_column}"
    )


def printed(values, text=None):  # -> the texts the cells would print: the custom ones, or the two decimals
    if text is not None:
        return [str(t) for row in text for t in row]
    ends = (f"{values.min():.2f}", f"{values.max():.2f}")  # the widest is at one end (a sign, more digits)
    return [end.replace("-", "−") for end in ends]  # Plotly prints a true minus sign


def describe_scaling(experiment, raw, scaled, y_title):  # -> the text alternative of a scaling_figure
    first, last = experiment.d_k[0], experiment.d_k[-1]
    return (
        f"{y_title} against d_k from {first} to {last}: without scaling from {raw[0]:.3g} to {raw[-1]:.3g}, "
        f"with ÷√d_k from {scaled[0]:.3g} to {scaled[-1]:.3g}"
    )


def scaling_figure(experiment, raw, scaled, y_title, *, log_y=False):
    """One quantity of the scaling experiment against d_k, with and without the division by sqrt(d_k)."""
    lines = (("without scaling", raw, "solid"), ("with ÷√d_k", scaled, "dash"))
    data = [
        {
            "type": "scatter",
            "x": list(experiment.d_k),
            "y": list(values),
            "name": name,
            "mode": "lines+markers",
            "line": {"dash": dash, "color": color},
        }
        for (name, values, dash), color in zip(lines, LINE_COLORS, strict=True)
    ]
    layout = {
        "height": 300,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "xaxis": {"title": {"text": "d_k"}, "type": "log"},
        "yaxis": {"title": {"text": y_title}, "type": "log" if log_y else "linear"},
        "legend": {"orientation": "h", "y": 1.12},
    }
    return figure(data, layout)


def _spans(count, gap):  # count equal spans of [0, 1] with gap between neighbours, first at 0
    size = (1 - gap * (count - 1)) / count
    return [(k * (size + gap), k * (size + gap) + size) for k in range(count)]


GRID_CELLS_EXACT = 2**20  # a head grid with more weights than this is sent as whole percentages


def head_grid(weights, row_titles, column_titles, room=layout.ROOM_PX):
    """Attention weights [rows, columns, n, n] (layers × heads) as one figure of small heatmaps, 0..1.

    Laid out for ``room`` px: row titles to the left, column titles above, every k-th where neighbours
    would touch (the hover names each panel).
    """
    n_rows, n_columns = weights.shape[:2]
    # A grid of many large heads is sent as whole percentages, one byte a weight, not eight: 30 × 9 heads of
    # 128 × 128 would be a 47 MB message. Its colours are the same to the eye; the numbers are on the stages.
    percent = weights.size > GRID_CELLS_EXACT
    if percent:
        weights = np.rint(np.asarray(weights) * 100).astype(np.uint8)
    rows, columns = _plotly_text(row_titles), _plotly_text(column_titles)
    size = layout.TICK_PX
    left = math.ceil(layout.EDGE_PX + max(layout.text_px(t, size) for t in row_titles) + layout.TICK_GAP_PX)
    right = layout.EDGE_PX
    top = math.ceil(layout.EDGE_PX + size * layout.LINE + layout.TICK_GAP_PX / 2)
    panel = (room - left - right) / n_columns
    widest = max(layout.text_px(t, size) for t in column_titles) + layout.TICK_GAP_PX
    step = max(1, math.ceil(widest / panel)) if panel > 0 else n_columns
    x_spans, y_spans = _spans(n_columns, 0.008), _spans(n_rows, 0.02)[::-1]  # first row at the top
    data = []
    chart_layout = {
        "width": int(room),
        "height": top + 90 * n_rows + layout.EDGE_PX,
        "margin": {"l": left, "r": right, "t": top, "b": layout.EDGE_PX, "pad": 0, "autoexpand": False},
    }
    hidden = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False, "automargin": False}
    for r in range(n_rows):
        for c in range(n_columns):
            k = r * n_columns + c + 1
            suffix = "" if k == 1 else str(k)
            data.append(
                {
                    "type": "heatmap",
                    "z": weights[r, c],
                    "xaxis": f"x{suffix}",
                    "yaxis": f"y{suffix}",
                    "colorscale": WEIGHT_COLORS,
                    "zmin": 0.0,
                    "zmax": 100.0 if percent else 1.0,
                    "showscale": False,
                    "hovertemplate": f"{rows[r]} · {columns[c]}<br>query %{{y}} → key %{{x}}: "
                    + ("%{z}%" if percent else "%{z:.2f}")
                    + "<extra></extra>",
                }
            )
            chart_layout[f"xaxis{suffix}"] = {"domain": x_spans[c], "anchor": f"y{suffix}", **hidden}
            chart_layout[f"yaxis{suffix}"] = {
                "domain": y_spans[r],
                "anchor": f"x{suffix}",
                "autorange": "reversed",
                **hidden,
            }
    font = {"size": size}
    titles = [  # column titles above the grid, row titles to its left
        {"text": columns[c], "x": sum(x_spans[c]) / 2, "y": 1, "yanchor": "bottom", "yshift": 2}
        for c in range(0, n_columns, step)
    ] + [
        {
            "text": text,
            "x": 0,
            "xanchor": "right",
            "xshift": -layout.TICK_GAP_PX / 2,
            "y": sum(y_spans[r]) / 2,
        }
        for r, text in enumerate(rows)
    ]
    chart_layout["annotations"] = [
        {"xref": "paper", "yref": "paper", "showarrow": False, "font": font, **title} for title in titles
    ]
    return figure(data, chart_layout)


def training_curve(values, title, step, room):  # [steps] -> a line over the training steps, marked at step
    steps = np.arange(1, len(values) + 1)
    data = [
        {
            "type": "scatter",
            "x": steps,
            "y": values,
            "mode": "lines",
            "name": title,
            "line": {"color": LINE_COLORS[0]},
        }
    ]
    layout = {
        "width": int(room),
        "height": 220,
        "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
        "title": {"text": title, "font": {"size": 14}, "x": 0.02},
        "xaxis": {"title": {"text": "step"}},
        "yaxis": {"rangemode": "tozero"},
        "shapes": [{"type": "line", "x0": step, "x1": step, "y0": 0, "y1": 1, "yref": "paper",
                    "line": {"color": LINE_COLORS[1], "width": 2}}],
        "showlegend": False,
    }  # fmt: skip
    return figure(data, layout)


def rotation_figure(terms, at, room):  # RotationTerms, the query's own position -> one pair turning
    """The query's pair of numbers (2·pair, 2·pair + 1) as an arrow from the origin, turned to each position
    0, 1, …: the same length every time, a further turn of ``terms.speed`` radians per position. The arrow
    at the query's own position ``at`` is drawn thick."""
    radius = float(np.linalg.norm(terms.turned[0])) or 1.0
    data = []
    for p, (x, y) in zip(terms.positions, terms.turned, strict=True):
        own = p == at
        data.append(
            {
                "type": "scatter",
                "x": [0.0, float(x)],
                "y": [0.0, float(y)],
                "mode": "lines+markers+text",
                "text": ["", f"{p}"],
                "textposition": "top center",
                "textfont": {"size": 13 if own else 11},
                "marker": {"size": [0, 9 if own else 6], "color": LINE_COLORS[1 if own else 0]},
                "line": {"width": 4 if own else 1.5, "color": LINE_COLORS[1 if own else 0]},
                "hovertemplate": f"position {p}: ({x:.3f}, {y:.3f}), turned {p * terms.speed:.2f} rad<extra></extra>",
                "showlegend": False,
            }
        )
    edge = radius * 1.25
    size = int(min(room, 420))
    layout = {
        "width": size,
        "height": size,
        "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
        "xaxis": {"range": [-edge, edge], "zeroline": True, "title": {"text": f"q[{2 * terms.pair + 1}]"}},
        "yaxis": {
            "range": [-edge, edge],
            "zeroline": True,
            "scaleanchor": "x",
            "title": {"text": f"q[{2 * terms.pair + 2}]"},
        },
    }
    return figure(data, layout)


def describe_rotation(terms, at):  # -> the text alternative of a rotation_figure
    return (
        f"pair {terms.pair + 1} of the query, as an arrow of length {float(np.linalg.norm(terms.turned[0])):.2f} "
        f"turned by {terms.speed:.3g} radians per position, drawn at positions 0 to {terms.positions[-1]}; "
        f"the query's own position is {at}"
    )


CUT_COLOR = "#9a9a9a"  # a token top-k or top-p leaves out: grey on light and dark backgrounds alike


def next_token_bars(labels, probs, kept, drawn, room):  # the most likely next tokens as horizontal bars
    """``labels`` [k] (most likely first), their ``probs`` and whether each is ``kept`` (top-k, top-p): kept
    ones in blue, cut ones grey and marked "cut", the token that was drawn (its label, or None) in orange."""
    labels = _plotly_text(labels)
    colors = [
        LINE_COLORS[1] if label == drawn else LINE_COLORS[0] if keep else CUT_COLOR
        for label, keep in zip(labels, kept, strict=True)
    ]
    texts = [f"{p:.1%}" + ("" if keep else " · cut") for p, keep in zip(probs, kept, strict=True)]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [float(p) for p in probs],
            "y": labels,
            "marker": {"color": colors},
            "text": texts,
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{y}: %{x:.4f}<extra></extra>",
        }
    ]
    layout = {
        "width": int(room),
        "height": 40 + 28 * len(labels),
        "margin": {
            "l": 10 + max((layout_text_px(label) for label in labels), default=0),
            "r": 80,
            "t": 10,
            "b": 30,
        },
        "xaxis": {"range": [0, max(1e-9, float(max(probs, default=0))) * 1.15], "tickformat": ".0%"},
        "yaxis": {"autorange": "reversed", "type": "category", "automargin": False},
        "bargap": 0.25,
        "showlegend": False,
    }
    return figure(data, layout)


def layout_text_px(text):  # a label's width at the axes' type size
    return math.ceil(layout.text_px(text, layout.TICK_PX))


def describe_bars(labels, probs, kept):  # -> the text alternative of next_token_bars
    parts = [
        f"{label} {p:.1%}" + ("" if keep else " (cut)")
        for label, p, keep in zip(labels, probs, kept, strict=True)
    ]
    return f"the {len(labels)} most likely next tokens: " + ", ".join(parts)
