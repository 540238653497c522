"""What every page draws: a stage's intro and shapes, charts from panels, checks, and the page links.

Pages read the trace and call these; nothing here computes attention. The features with a room of their
own are ``presenter``, ``predict_first``, ``numbers_panel``, ``columns`` and ``downloads``.
"""

import re

import numpy as np
import streamlit as st

from attention_viz import charts, frames, layout, stages, text
from ui import class_session, downloads
from ui.columns import columns, cramped, flow, room_width, rooms
from ui.pages import neighbours
from ui.presenter import presenting

HEADS_PER_ROW = 6  # small per-head heatmaps in rows of six, so twelve heads stay readable
HEAD_CELL_PX = 3  # a head's small heatmap keeps cells at least this wide: its pattern stays visible
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text):  # user text -> markdown that shows it literally
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def labels(trace):  # the token labels used on every axis
    return frames.token_labels(trace.tokens)


_shared_heatmap = charts.shared(charts.heatmap)
_shared_head_grid = charts.shared(charts.head_grid)


def draw_head_grid(weights, row_titles, column_titles, name):  # weights [rows, columns, n, n]
    n_rows, n_columns, n = weights.shape[:3]
    alt = (
        f"attention weights of {n_rows} × {n_columns} heads ({row_titles[0]} to {row_titles[-1]}, "
        f"{column_titles[0]} to {column_titles[-1]}), each {n} × {n}; each head's numbers are on the stage "
        "pages, with the head and layer chosen in the sidebar"
    )
    draw_figure(
        _shared_head_grid(weights, list(row_titles), list(column_titles), int(room_width())), name, alt
    )


# Each mode bar button is a tab stop: a keyboard user walks past eight per chart. Kept: the PNG download,
# zoom (a long sentence's corner), reset and full screen.
KEPT_OUT_OF_THE_MODEBAR = ["pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]


def draw_figure(figure, name, alt):
    """A chart at the width its layout chose, keyed by name; Plotly's camera button saves it as name.png.

    ``alt``: its text alternative, the chart's accessible name: what it shows, its shape, where its largest
    value is (``charts.describe``)."""
    st.plotly_chart(
        figure,
        width=figure.layout.width or "stretch",
        key=f"chart_{name}",
        alt=alt,
        config={
            "toImageButtonOptions": {"filename": name, "scale": 2},
            "displaylogo": False,
            "modeBarButtonsToRemove": KEPT_OUT_OF_THE_MODEBAR,
        },
    )


def draw_matrix_figure(figure, values, rows, columns, name, what, **names):
    """A figure of the matrix ``values`` [r, c], named for screen readers, with every number below it.

    Its text alternative says ``what`` it is, its shape and where its largest value is (``charts.describe``;
    ``names``: kind, row_name, column_name); *Numbers as a table* holds every number as a real table (a
    screen reader walks it cell by cell), made only while it is open.
    """
    values = np.asarray(values, dtype=np.float64)
    alt = charts.describe(values, rows, columns, what, **names)
    draw_figure(figure, name, alt)
    table = st.expander(
        f"Numbers as a table ({values.shape[0]} × {values.shape[1]})", key=f"table_{name}", on_change="rerun"
    )
    if table.open:
        with table:
            draw_table(
                frames.matrix_frame(values, list(rows), list(columns)), alt, key=f"numbers_table_{name}"
            )


def draw_heatmap(values, rows, columns, name, *, room=None, download=True, **options):
    """A heatmap with Plotly's own image download and, below it, a CSV download of the same numbers.

    ``values`` [r, c] with r row and c column labels, laid out for ``room`` px (the main column's width
    by default; ``columns()`` gives each column's). ``options`` are those of ``charts.heatmap`` (kind,
    title, row_name, ...); presenter mode sets ``large``.
    """
    values = np.asarray(values, dtype=np.float64)
    rows, columns = list(rows), list(columns)
    draw_matrix_figure(
        _shared_heatmap(values, rows, columns, room=int(room or room_width()), **options, large=presenting()),
        values,
        rows,
        columns,
        name,
        (options.get("title") or name).removeprefix("▶ "),
        **{key: options[key] for key in ("kind", "row_name", "column_name") if key in options},
    )
    if download:
        downloads.csv_button(values, rows, columns, name)


def draw_panel(panel, *, room=None, name=None, **options):
    """A stage's Panel as its heatmap: its numbers, labels, title and colours. ``name`` keys the chart when
    a page draws the same panel twice (X beside each W); ``options`` as draw_heatmap's (a ``title`` replaces
    the panel's)."""
    options = {"title": panel.title, **panel.options(), **options}
    draw_heatmap(panel.values, panel.rows, panel.columns, name or panel.name, room=room, **options)


def draw_shapes(shapes):  # ((name, shape), ...) -> one line of shapes (a stage's: StageView.shapes)
    if presenting():  # the projector keeps to the matrix itself
        return
    st.caption(" · ".join(f"**{name}** {' × '.join(map(str, shape))}" for name, shape in shapes))


def draw_stage_intro(
    page, trace, family, head=0
):  # the stage's title, explanation, the model's note, formula
    explanation, formula = text.intro(trace, page.stage)
    st.title(page.title_for(family))
    if not presenting():  # on a projector the teacher speaks; the screen keeps the formula
        st.markdown(explanation)
        draw_note(page, trace, family, head)
    st.latex(formula)
    view = stages.VIEWS[page.stage]
    draw_shapes(view.shapes(trace))
    if view.note:
        st.markdown(view.note(trace))


def draw_note(page, trace, family, head=0):  # what the model's family says about this page (Family.notes)
    note = family.note(page.url_path, trace, head)
    if note:
        st.info(f"**{escape_markdown(trace.source.caption)}** — {note}", icon=":material/school:")


def draw_model_caption(trace, family, head):  # above a stage: which model, which head, what its weights are
    if not family.weights:  # random weights: the sidebar says it all
        return
    heads = f" · head {head + 1} of {trace.config.n_heads}" if trace.config.n_heads > 1 else ""
    st.caption(f"{escape_markdown(trace.source.caption)}{heads} — {family.weights}")


def draw_head_weights(trace, name, numbers=False, max_plot=layout.MAX_PLOT_PX, download=True):
    """Every head's attention weights, small, in rows of at most HEADS_PER_ROW: fewer for a long sentence,
    whose cells would otherwise shrink under HEAD_CELL_PX."""
    tokens = labels(trace)
    least = layout.least_room(tokens, tokens, HEAD_CELL_PX, large=presenting(), title="head 12")
    for index, (column, px) in enumerate(flow(trace.config.n_heads, HEADS_PER_ROW, least)):
        with column:
            draw_heatmap(
                trace.weights[index],
                tokens,
                tokens,
                f"{name}_{index + 1}",
                room=px,
                kind="weights",
                title=f"head {index + 1}",
                numbers=numbers,
                colorbar=False,
                max_plot=max_plot,
                download=download,
            )


def draw_nav(page, settings):
    """Previous and next links, always in the same place, carrying the current settings; none for a
    student who follows the teacher (``ui.sidebar.draw_links``)."""
    if class_session.following():
        return
    previous, following = neighbours(page, settings.family)
    left, _, right = st.columns([5, 1, 5])
    if previous:
        left.page_link(
            previous.link,
            label=f"Previous: {previous.title_for(settings.family)}",
            icon=":material/arrow_back:",
            query_params=settings.link_params,
        )
    if following:
        right.page_link(
            following.link,
            label=f"Next: {following.title_for(settings.family)}",
            icon=":material/arrow_forward:",
            query_params=settings.link_params,
        )


def draw_table(frame, description, key="numbers_table"):
    """A table of numbers to 4 decimals, as a plain HTML table.

    Lighter than st.dataframe's canvas grid (whose script a stage page then needs not load), and a real
    table that a screen reader can walk cell by cell; ``description`` is its accessible name.
    """
    with st.container(key=key):  # the style right-aligns its columns of digits
        st.table(frame.map(_four_decimals), width="content", alt=description)  # text: a Styler costs ~10 ms


def _four_decimals(value):  # a masked key's shifted score is -inf: shown as the symbol
    return "−∞" if value == -np.inf else f"{value:.4f}"


PIPELINE = ("scores", "scaling", "softmax")  # the three matrices of a score, side by side


def draw_score_pipeline(trace, head, focus=None):
    """Raw scores, scaled scores and softmax weights; the ``focus`` stage (a slug of PIPELINE) large.

    Side by side in stage order, the focus twice as wide, while no panel is ``cramped``; else the focus
    across the page with the others under it (or each across the page, without a focus). Presenter mode
    shows the focus alone.
    """
    panels = [(slug, stages.stage_panels(trace, slug, head)[0]) for slug in PIPELINE]
    focused = next((panel for slug, panel in panels if slug == focus), None)
    side_by_side = [(panel, 2 if panel is focused else 1) for _, panel in panels]
    if presenting() and focused:  # one stage per screen: only its matrix, as wide as the projector
        rows = [[(focused, 1)]]
    elif not cramped(
        [(panel.values, panel.rows, panel.columns, panel is focused) for _, panel in panels],
        rooms([weight for _, weight in side_by_side]),
    ):
        rows = [side_by_side]
    elif focused:
        rows = [[(focused, 1)], [(panel, 1) for _, panel in panels if panel is not focused]]
    else:
        rows = [[(panel, 1)] for _, panel in panels]
    for row in rows:
        for (column, px), (panel, _) in zip(columns([weight for _, weight in row]), row, strict=True):
            with column:
                draw_panel(
                    panel,
                    room=px,
                    title=None
                    if presenting() and focused
                    else f"▶ {panel.title}"
                    if panel is focused
                    else panel.title,
                    colorbar=panel is focused or not focused,
                )
    st.caption(
        "Rows are queries (the token that looks), columns are keys (the token looked at). "
        "Blue is negative, red positive; weights go from dark (0) to yellow (1)."
    )


def draw_checks(trace, head, slug):
    """The stage's shapes and invariants, checked on the numbers shown, as small badges in one line."""
    results = stages.stage_checks(trace, head, slug)
    st.markdown(
        " ".join(
            f":{'green' if check.passed else 'red'}-badge[:material/{'check_circle' if check.passed else 'error'}: "
            f"{escape_markdown(check.label)}]"
            for check in results
        )
    )
    st.caption(
        "Checked on these numbers: " + " · ".join(f"{c.label}: {c.detail}" for c in results[1:])
        if len(results) > 1
        else "Checked on these numbers."
    )
