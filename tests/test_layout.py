"""The layout rule (attention_viz/layout.py): cells, numbers and labels decided by the pixels a chart gets.

What is drawn is measured in the browser (tests/browser/test_legibility.py); these check the rule's
arithmetic: labels that are shown have the room they need, more room never shows less, and the text
widths come from the font's own advance widths.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_viz import layout

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "[CLS]", "##ing", "river"]


def labels(n):
    return [WORDS[i % len(WORDS)] + ("" if i < len(WORDS) else str(i)) for i in range(n)]


def test_text_widths_come_from_the_fonts_advance_widths():
    # Source Sans: tabular digits 0.497 em, a full stop 0.249 em, the minus sign as wide as a digit.
    assert layout.text_px("−0.00", 10) == pytest.approx((4 * 0.497 + 0.249) * 10)
    assert layout.text_px("i", 12) < layout.text_px("m", 12)
    assert layout.text_px("e\u0301", 12) == layout.text_px("e", 12)  # a combining accent adds nothing
    assert layout.text_px("猫", 12) == 12  # CJK: a full em
    assert layout.text_px("👍🏽", 12) >= 12  # an emoji with its skin tone: at least an em


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 128),
    columns=st.integers(1, 128),
    room=st.integers(120, 2000),
    large=st.booleans(),
    title=st.sampled_from([None, "4. raw scores Q·Kᵀ"]),
)
def test_every_label_shown_has_the_room_it_needs(rows, columns, room, large, title):
    grid = layout.grid(labels(rows), labels(columns), ["−12.93"], room, large=large, title=title)
    line = grid.tick_px * layout.LINE
    step = lambda shown: shown[1] - shown[0] if len(shown) > 1 else math.inf  # noqa: E731
    assert step(grid.y_shown) * grid.cell_height >= line
    widest = max(layout.text_px(label, grid.tick_px) for label in labels(columns))
    if grid.x_angle == 0:
        assert step(grid.x_shown) * grid.cell_width >= widest + layout.TICK_GAP_PX
    else:
        assert step(grid.x_shown) * grid.cell_width * math.sin(layout.TURN) >= line
    if grid.number_px:  # the widest number fits its cell, across and down
        assert layout.text_px("−12.93", grid.number_px) + 2 * layout.CELL_PAD_PX <= grid.cell_width + 1e-9
        assert grid.number_px * layout.LINE <= grid.cell_height
    assert grid.y_shown[0] == 0 and grid.x_shown[0] == 0  # the first row and column are always named
    # The title and the column labels fit the top margin together; the cells fit the height limit.
    assert grid.margin["t"] >= (grid.title_px * layout.LINE if title else 0) + line
    assert rows * grid.cell_height <= max(layout.MAX_PLOT_PX, rows * 2.0) + 1e-6


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 64), room=st.integers(150, 1500), more=st.integers(1, 800))
def test_more_room_never_shows_less(n, room, more):
    narrow = layout.grid(labels(n), labels(n), ["−0.00"], room)
    wide = layout.grid(labels(n), labels(n), ["−0.00"], room + more)
    assert wide.cell_width >= narrow.cell_width
    assert len(wide.x_shown) >= len(narrow.x_shown) and len(wide.y_shown) >= len(narrow.y_shown)
    assert (wide.number_px or 0) >= (narrow.number_px or 0)


def test_a_chart_keeps_to_its_room_and_a_small_matrix_to_readable_cells():
    for n in (1, 6, 12, 24, 64):
        grid = layout.grid(labels(n), labels(n), ["−0.00"], 400)
        assert grid.width <= 400
    small = layout.grid(labels(3), labels(3), ["0.50"], 1500)
    assert small.cell_width <= layout.MAX_CELL_PX  # three tokens don't make three walls
    assert small.number_px == layout.NUMBER_PX


def test_presenter_mode_prints_larger_type_in_larger_cells():
    laptop = layout.grid(labels(6), labels(6), ["−0.00"], 1200)
    projector = layout.grid(labels(6), labels(6), ["−0.00"], 1200, large=True)
    assert projector.number_px > laptop.number_px and projector.tick_px > laptop.tick_px
    assert projector.cell_width > laptop.cell_width


def test_numbers_give_way_to_colours_where_they_cannot_fit():
    assert layout.grid(labels(64), labels(64), ["−12.93"], 800).number_px is None
    assert layout.grid(labels(6), labels(6), ["−12.93"], 800).number_px == layout.NUMBER_PX
    assert layout.grid(labels(6), labels(6), (), 800).number_px is None  # a chart that never prints them
