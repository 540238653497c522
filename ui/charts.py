"""Labelled DataFrames in, Plotly figures out; no Streamlit here, so tests can call these directly."""

import functools
import html

import numpy as np
import plotly.graph_objects as go

SIGNED_COLORS = "RdBu_r"  # blue below zero, red above, white at zero; ColorBrewer rates it colour-blind safe
WEIGHT_COLORS = (
    "Viridis"  # perceptually uniform and colour-blind safe; readable on light and dark backgrounds
)
NUMBERS_UP_TO = 16  # print values in cells while the matrix has at most this many rows and columns
CELL_PX = 34  # row height when numbers are shown
MAX_HEIGHT_PX = 620  # a tall matrix (384 rows of W_q) is squeezed to this instead of a page-long strip
MAX_TICKS = 32  # label at most this many rows or columns; the hover names every cell
# Streamlit's default Plotly template adds about 4 KB of styles for chart types these figures don't use;
# every figure here sets its own colours, so it uses Plotly's empty template: a third of the bytes to send.
NO_TEMPLATE = "none"
LINE_COLORS = ("#0072B2", "#E69F00")  # Okabe-Ito blue and orange: colour-blind safe, light and dark


class _Numbers:
    """An array as a cache key: equal, and hashed alike, exactly when the numbers are."""

    def __init__(self, array):
        self.array = np.ascontiguousarray(array)
        self.key = (self.array.tobytes(), self.array.shape, self.array.dtype.str)

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _Numbers) and self.key == other.key


def shared(build, maxsize=512):
    """``build(*arrays_and_labels, **options)`` -> figure, built once per process for the same arguments.

    Building a figure validates every Plotly property (about 12 ms for a heatmap) and the pages draw
    the same figures on every rerun; st.plotly_chart only reads them, so they are shared, never changed.
    Arrays are keyed by their bytes and label lists as tuples: Python hashes these in microseconds,
    where Streamlit's cache takes about a millisecond.
    """

    @functools.lru_cache(maxsize=maxsize)
    def cached(*args, **options):
        return build(*(a.array if isinstance(a, _Numbers) else a for a in args), **options)

    def call(*args, **options):
        return cached(
            *(
                _Numbers(a) if isinstance(a, np.ndarray) else tuple(a) if isinstance(a, list) else a
                for a in args
            ),
            **options,
        )

    return call


def _plotly_text(labels):  # Plotly reads a few HTML tags in labels; escape so user text stays text
    return [html.escape(str(label), quote=False) for label in labels]


def heatmap(
    frame,
    *,
    kind="signed",
    title=None,
    row_name="row",
    column_name="column",
    numbers=None,
    height=None,
    colorbar=True,
    large=False,
):
    """A heatmap of ``frame`` with its labels on the axes, first row at the top.

    ``large`` sets type and cells for a projector, legible from the back of a room.

    kind="signed" centres a diverging scale at zero; kind="weights" fixes the scale to 0..1.
    ``row_name`` and ``column_name`` (e.g. "query", "key") name the axes in the hover text.
    """
    values = frame.to_numpy(dtype=np.float64)
    rows, columns = values.shape
    if numbers is None:
        numbers = max(rows, columns) <= NUMBERS_UP_TO
    if kind == "weights":
        scale = {"colorscale": WEIGHT_COLORS, "zmin": 0.0, "zmax": 1.0}
    else:
        limit = float(np.abs(values).max()) or 1.0
        scale = {"colorscale": SIGNED_COLORS, "zmin": -limit, "zmax": limit, "zmid": 0.0}
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=_plotly_text(frame.columns),
            y=_plotly_text(frame.index),
            texttemplate="%{z:.2f}" if numbers else None,
            textfont={"size": 22 if large else 12},
            hovertemplate=f"{row_name} %{{y}} · {column_name} %{{x}}<br>value %{{z:.4f}}<extra></extra>",
            xgap=1 if columns <= 64 else 0,  # gaps would hide the cells of a wide matrix
            ygap=1 if rows <= 64 else 0,
            colorbar={"thickness": 12},
            showscale=colorbar,
            **scale,
        )
    )
    cell_px = CELL_PX * 4 // 3 if large else CELL_PX
    row_px = cell_px if numbers else max(2, min(cell_px, MAX_HEIGHT_PX // rows))
    figure.update_layout(
        template=NO_TEMPLATE,
        title={"text": html.escape(title, quote=False)} if title else None,
        height=height or max(180, 80 + row_px * rows + (30 if title else 0)),
        margin={"l": 10, "r": 10, "t": 30 + (30 if title else 0), "b": 10},
        xaxis={
            "side": "top",
            "type": "category",
            "tickangle": 0 if columns <= 12 and (numbers or columns <= 4) else -60,
            "nticks": MAX_TICKS,
            "tickfont": {"size": 20} if large else None,
        },
        yaxis={
            "autorange": "reversed",
            "type": "category",
            "nticks": MAX_TICKS,
            "tickfont": {"size": 20} if large else None,
        },
    )
    return figure


def scaling_figure(experiment, raw, scaled, y_title, *, log_y=False):
    """One quantity of the scaling experiment against d_k, with and without the division by sqrt(d_k)."""
    figure = go.Figure()
    lines = (("without scaling", raw, "solid"), ("with ÷√d_k", scaled, "dash"))
    for (name, values, dash), color in zip(lines, LINE_COLORS, strict=True):
        figure.add_trace(
            go.Scatter(
                x=experiment.d_k,
                y=values,
                name=name,
                mode="lines+markers",
                line={"dash": dash, "color": color},
            )
        )
    figure.update_layout(
        template=NO_TEMPLATE,
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "d_k", "type": "log"},
        yaxis={"title": y_title, "type": "log" if log_y else "linear"},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure


def head_grid(weights, row_titles, column_titles):
    """Attention weights [rows, columns, n, n] (layers × heads) as one figure of small heatmaps, 0..1."""
    from plotly.subplots import make_subplots

    n_rows, n_columns = weights.shape[:2]
    figure = make_subplots(
        n_rows,
        n_columns,
        row_titles=_plotly_text(row_titles),
        column_titles=_plotly_text(column_titles),
        horizontal_spacing=0.008,
        vertical_spacing=0.02,
    )
    for r in range(n_rows):
        for c in range(n_columns):
            figure.add_trace(
                go.Heatmap(
                    z=weights[r, c],
                    colorscale=WEIGHT_COLORS,
                    zmin=0.0,
                    zmax=1.0,
                    showscale=False,
                    hovertemplate=f"{row_titles[r]} · {column_titles[c]}<br>query %{{y}} → key %{{x}}: "
                    "%{z:.2f}<extra></extra>",
                ),
                r + 1,
                c + 1,
            )
    figure.update_xaxes(showticklabels=False, ticks="")
    figure.update_yaxes(showticklabels=False, ticks="", autorange="reversed")
    figure.update_layout(
        template=NO_TEMPLATE, height=90 * n_rows + 40, margin={"l": 10, "r": 30, "t": 30, "b": 10}
    )
    return figure
