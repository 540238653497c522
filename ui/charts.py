"""Labelled DataFrames in, Plotly figures out; no Streamlit here, so tests can call these directly."""

import html

import numpy as np
import plotly.graph_objects as go

SIGNED_COLORS = "RdBu_r"  # blue below zero, red above, white at zero; ColorBrewer rates it colour-blind safe
WEIGHT_COLORS = (
    "Viridis"  # perceptually uniform and colour-blind safe; readable on light and dark backgrounds
)
NUMBERS_UP_TO = 16  # print values in cells while the matrix has at most this many rows and columns
CELL_PX = 34  # row height when numbers are shown


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
):
    """A heatmap of ``frame`` with its labels on the axes, first row at the top.

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
            textfont={"size": 12},
            hovertemplate=f"{row_name} %{{y}} · {column_name} %{{x}}<br>value %{{z:.4f}}<extra></extra>",
            xgap=1,
            ygap=1,
            colorbar={"thickness": 12},
            showscale=colorbar,
            **scale,
        )
    )
    figure.update_layout(
        title={"text": html.escape(title, quote=False)} if title else None,
        height=height or max(180, 80 + CELL_PX * rows + (30 if title else 0)),
        margin={"l": 10, "r": 10, "t": 30 + (30 if title else 0), "b": 10},
        xaxis={
            "side": "top",
            "type": "category",
            "tickangle": 0 if columns <= 12 and (numbers or columns <= 4) else -60,
        },
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure


def scaling_figure(experiment, raw, scaled, y_title, *, log_y=False):
    """One quantity of the scaling experiment against d_k, with and without the division by sqrt(d_k)."""
    figure = go.Figure()
    for name, values, dash in (("without scaling", raw, "solid"), ("with ÷√d_k", scaled, "dash")):
        figure.add_trace(
            go.Scatter(x=experiment.d_k, y=values, name=name, mode="lines+markers", line={"dash": dash})
        )
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "d_k", "type": "log"},
        yaxis={"title": y_title, "type": "log" if log_y else "linear"},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure
