"""Column widths: how much room each chart gets, and whether panels side by side would be cramped.

The page's main column is measured in the browser (``ui/room.py``); every chart is laid out for the
pixels its column has (``attention_viz.layout``), never for its number of tokens.
"""

import numpy as np
import streamlit as st

from attention_viz import charts, layout
from ui.presenter import presenting
from ui.room import WIDTH_PX, column_widths

MIN_CELL_PX = 6  # a matrix beside others keeps cells at least this wide, or the page stacks them
MIN_CHART_PX = 150  # Streamlit draws no Plotly chart narrower than this: a column must be at least as wide
ROOM = "ui_room"  # session: the main column's width in px, as the browser last measured it


def room_width():  # -> the width of the page's main column in px (ui/room.py measures it)
    return st.session_state.get(ROOM, WIDTH_PX)


def rooms(weights):  # -> the width in px of each column of st.columns(weights) in the main column
    return column_widths(room_width(), weights)


def columns(spec, **options):  # -> [(column, its width in px)]: st.columns(spec) and the room each one has
    weights = [1] * spec if isinstance(spec, int) else list(spec)
    return list(zip(st.columns(weights, **options), rooms(weights), strict=True))


def flow(count, most, least=MIN_CHART_PX):  # -> [(column, px)]
    """Columns for ``count`` small panels, at most ``most`` to a row, each at least ``least`` px wide."""
    per_row = max(1, min(most, count, int((room_width() + 16) // (max(least, MIN_CHART_PX) + 16))))
    places = []
    for _ in range(0, count, per_row):
        places += columns(per_row)
    return places[:count]


def cramped(panels, widths):
    """Whether these panels would be cramped side by side in columns of these widths (px); pages then
    stack them. ``panels``: (values, row labels, column labels, whether its numbers matter). Cramped: one
    would get cells under MIN_CELL_PX, or one whose numbers matter would lose the numbers it prints alone
    across the page."""
    bar = ["−0.00"] * 3  # any panel may have a colour bar: its labels' room counts
    if min(widths) < MIN_CHART_PX:
        return True
    for (values, rows, labels, matter), room in zip(panels, widths, strict=True):
        texts = charts.printed(np.asarray(values, dtype=np.float64))
        beside = layout.grid(rows, labels, texts, room, large=presenting(), colorbar=bar)
        if beside.cell_width < MIN_CELL_PX:
            return True
        alone = layout.grid(rows, labels, texts, room_width(), large=presenting(), colorbar=bar)
        if matter and not beside.number_px and alone.number_px:
            return True
    return False


def panel_columns(panels, weights=None):  # -> [(container, width px or None)], one per Panel
    """Columns side by side (``weights``: their relative widths), or one under the other, across the page,
    when they would be ``cramped``."""
    weights = weights or [1] * len(panels)
    if cramped([(p.values, p.rows, p.columns, True) for p in panels], rooms(weights)):
        return [(st.container(), None) for _ in panels]
    return columns(weights)
