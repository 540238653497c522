"""Drawing helpers the pages share; they read the trace and never compute attention themselves."""

import re

import numpy as np
import streamlit as st

from attention_core import output_terms
from attention_viz import charts, checks, export, frames, layout, lesson, numbers, quiz, text
from ui.pages import neighbours
from ui.room import WIDTH_PX, column_widths

HEADS_PER_ROW = 6  # small per-head heatmaps in rows of six, so MiniLM's twelve stay readable
HEAD_CELL_PX = 3  # a head's small heatmap keeps cells at least this wide: its pattern stays visible
MIN_CELL_PX = 6  # a matrix beside others keeps cells at least this wide, or the page stacks them
MIN_CHART_PX = 150  # Streamlit draws no Plotly chart narrower than this: a column must be at least as wide
is_pretrained = text.is_pretrained  # the pages ask render
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text):  # user text -> markdown that shows it literally
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def labels(trace):  # the token labels used on every axis
    return frames.token_labels(trace.tokens)


def _heatmap_of(values, rows, columns, **options):
    return charts.heatmap(frames.matrix_frame(values, rows, columns), **options)


_shared_heatmap = charts.shared(_heatmap_of)
_shared_head_grid = charts.shared(charts.head_grid, maxsize=64)


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
    title, row_name, ...); presenter mode sets ``large``. A labelled frame is made only where it is
    needed: for a new figure, an opened table, a clicked download.
    """
    values = np.asarray(values, dtype=np.float64)
    rows, columns = list(rows), list(columns)
    room_px = int(room or room_width())
    draw_matrix_figure(
        _shared_heatmap(values, rows, columns, room=room_px, **options, large=presenting()),
        values,
        rows,
        columns,
        name,
        (options.get("title") or name).removeprefix("▶ "),
        **{key: options[key] for key in ("kind", "row_name", "column_name") if key in options},
    )
    if download:
        st.download_button(
            f"{name}.csv",
            lambda: export.frame_csv(frames.matrix_frame(values, rows, columns)),  # made only when clicked
            file_name=f"{name}.csv",
            mime="text/csv",
            icon=":material/download:",
            key=f"csv_{name}",
            type="tertiary",
            on_click="ignore",
        )


def draw_shapes(*items):  # ("X", (6, 8)), ... -> one line of shapes (a stage's: text.shapes)
    if presenting():  # the projector keeps to the matrix itself
        return
    st.caption(" · ".join(f"**{name}** {' × '.join(map(str, shape))}" for name, shape in items))


def presenting():  # the sidebar's "Presenter mode" switch
    return bool(st.session_state.get("present"))


_STYLE = (
    "[data-testid='stMainBlockContainer']{padding-top:3.5rem;padding-bottom:2rem}"
    "h1{font-size:2.1rem !important;padding-top:0 !important}"
    ".st-key-clicker_keys{display:none}"  # PageUp/PageDown for presentation clickers: keys, not buttons
    # The invisible components (ui/room.py, ui/focus.py) out of the flow: no gap of their own.
    ".st-key-room,.st-key-scrolling_regions{position:absolute;width:0;height:0;overflow:hidden}"
    ".katex-display{padding:0 0.25em}"  # a glyph's overhang no longer makes a formula scroll
    # Streamlit draws no focus ring on page links: the keyboard's place must show (WCAG 2.4.7).
    "[data-testid='stPageLink-NavLink']:focus-visible{outline:2px solid currentColor;outline-offset:2px}"
    "[class*='st-key-numbers_table'] td{text-align:right !important;font-variant-numeric:tabular-nums}"
)
_PRESENTER_STYLE = (  # projector: no sidebar, large type, the page uses the whole width
    "[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],[data-testid='stHeader']{display:none}"
    "[data-testid='stMainBlockContainer']{padding:0.8rem 2rem 1rem 2rem;max-width:100%}"
    "html{font-size:20px}"
    "h1{font-size:2rem !important;padding-bottom:0 !important}"
    ".st-key-presenter_bar button{min-height:3.2rem;font-size:1.3rem}"
)


def draw_style():
    """Tighter top margin and headings, so a stage fits a 1280×720 projector; no user text here."""
    st.html(f"<style>{_STYLE}{_PRESENTER_STYLE if presenting() else ''}</style>")


def draw_stage_intro(page, trace):  # the stage's title, explanation and formula (attention_viz.text)
    explanation, formula = text.intro(trace, page.stage)
    st.title(page.title)
    if not presenting():  # on a projector the teacher speaks; the screen keeps the formula
        st.markdown(explanation)
    st.latex(formula)


def draw_pretrained_note(trace, head):
    """What the student is looking at with the real model, and why [CLS] and [SEP] draw so much attention."""
    st.info(
        f"**{trace.model}, head {head + 1}** — real learned weights (d_model = {trace.config.d_model}, "
        f"d_k = {trace.config.d_k}). The sentence is split into WordPiece tokens, with **[CLS]** added at "
        "the start and **[SEP]** at the end: markers the model was trained with. Many heads send most of "
        "their attention to [CLS] or [SEP] when they have nothing specific to look for — a resting place "
        "whose value changes the output little.",
        icon=":material/school:",
    )


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
    """Previous and next links, always in the same place, carrying the current settings."""
    previous, following = neighbours(page)
    left, _, right = st.columns([5, 1, 5])
    if previous:
        left.page_link(
            previous.path,
            label=f"Previous: {previous.title}",
            icon=":material/arrow_back:",
            query_params=settings.link_params,
        )
    if following:
        right.page_link(
            following.path,
            label=f"Next: {following.title}",
            icon=":material/arrow_forward:",
            query_params=settings.link_params,
        )


def draw_lesson_download(trace, settings):
    """The current view as one HTML file that needs no server (attention_viz.lesson), made when clicked."""
    tokens = labels(trace)
    # The picks dict itself: a pick reruns only its panel, so the file reads the cell when it is made.
    picks = st.session_state.setdefault(CELL_PICKS, {})

    def index(key):
        label = picks.get(key)
        return tokens.index(label) if label in tokens else 0

    st.sidebar.download_button(
        "Download this lesson (HTML)",
        lambda: lesson.lesson_html(
            trace, lesson.View(settings.head, index("query"), index("key"), settings.sentence)
        ),
        file_name="attention_lesson.html",
        on_click="ignore",
        mime="text/html",
        icon=":material/school:",
        width="stretch",
        help="Every stage of this view in one file that opens in any browser, offline, and prints as a handout.",
    )


def draw_trace_download(trace):
    st.sidebar.download_button(
        "Download the whole trace (JSON)",
        lambda: export.trace_json(trace),  # made only when clicked
        file_name="attention_trace.json",
        on_click="ignore",
        mime="application/json",
        icon=":material/data_object:",
        width="stretch",
    )


CELL_PICKS = "ui_cell"  # session: the last query and key picked, which controls() carries to the next page
CELL_CHANGED = "ui_cell_changed"  # session: a pick since the sidebar last drew "Link to this view"
NUMBERS_OPEN = "ui_numbers_open"  # session: "Show me the numbers" was left open


def _note_pick():
    st.session_state[CELL_CHANGED] = True


def token_picker(trace, label, key):  # -> index of the chosen token (the first by default); bound to the URL
    options = labels(trace)
    if st.session_state.get(key) not in (None, *options):  # carried over from another sentence
        del st.session_state[key]
    chosen = st.selectbox(label, options, key=key, bind="query-params", on_change=_note_pick)
    st.session_state.setdefault(CELL_PICKS, {})[key] = chosen
    return options.index(chosen)


@st.fragment
def draw_cell_panel(trace, head, stage):
    """Stages 4-7: the arithmetic behind one chosen cell; picking another cell reruns this panel alone."""
    i = None
    if stage == 7:
        st.subheader("One token's output, as a weighted sum")
        i = token_picker(trace, "Token", "query")
        draw_weighted_sum(trace, head, i)
    draw_numbers(trace, head, stage, i)
    if st.session_state.pop(CELL_CHANGED, False) and st.session_state.get("link_box"):
        st.rerun()  # the sidebar's open "Link to this view" names the cell: redraw the page with it


def draw_table(frame, description, key="numbers_table"):
    """A table of numbers to 4 decimals, as a plain HTML table.

    Lighter than st.dataframe's canvas grid (whose script a stage page then needs not load), and a real
    table that a screen reader can walk cell by cell; ``description`` is its accessible name.
    """
    with st.container(key=key):  # the style right-aligns its columns of digits
        st.table(frame.map(_four_decimals), width="content", alt=description)  # text: a Styler costs ~10 ms


def _four_decimals(value):  # a masked key's shifted score is -inf: shown as the symbol
    return "−∞" if value == -np.inf else f"{value:.4f}"


def cramped(panels, rooms):
    """Whether these panels would be cramped side by side in columns of these widths (px); pages then
    stack them. ``panels``: (values, row labels, column labels, whether its numbers matter). Cramped: one
    would get cells under MIN_CELL_PX, or one whose numbers matter would lose the numbers it prints alone
    across the page."""
    bar = ["−0.00"] * 3  # any panel may have a colour bar: its labels' room counts
    if min(rooms) < MIN_CHART_PX:
        return True
    for (values, rows, columns, matter), room in zip(panels, rooms, strict=True):
        texts = charts.printed(np.asarray(values, dtype=np.float64))
        beside = layout.grid(rows, columns, texts, room, large=presenting(), colorbar=bar)
        if beside.cell_width < MIN_CELL_PX:
            return True
        alone = layout.grid(rows, columns, texts, room_width(), large=presenting(), colorbar=bar)
        if matter and not beside.number_px and alone.number_px:
            return True
    return False


def panel_columns(panels, weights=None):  # -> [(container, width px or None)], one per panel
    """Columns side by side (``weights``: their relative widths), or one under the other, across the page,
    when they would be ``cramped``."""
    weights = weights or [1] * len(panels)
    if cramped(panels, rooms(weights)):
        return [(st.container(), None) for _ in panels]
    return columns(weights)


def draw_score_pipeline(trace, head, focus=None):
    """Raw scores, scaled scores and softmax weights; the ``focus`` stage (4-6) large, its neighbours small.

    Side by side in stage order, the focus twice as wide, while no panel is ``cramped``; else the focus
    across the page with the others under it (or each across the page, without a focus). Presenter mode
    shows the focus alone.
    """
    tokens = labels(trace)
    config = trace.config
    divisor = f"÷ {trace.divisor:.3g}" if config.scale or config.temperature != 1 else "÷ 1 (scaling off)"
    panels = [
        (4, "scores", trace.scores[head], "signed", "4. raw scores Q·Kᵀ"),
        (5, "scaled", trace.scaled[head], "signed", f"5. scaled ({divisor})"),
        (6, "weights", trace.weights[head], "weights", "6. softmax weights"),
    ]
    focused = next((panel for panel in panels if panel[0] == focus), None)
    side_by_side = [(panel, 2 if panel is focused else 1) for panel in panels]
    if presenting() and focused:  # one stage per screen: only its matrix, as wide as the projector
        rows = [[(focused, 1)]]
    elif not cramped(
        [(panel[2], tokens, tokens, panel is focused) for panel in panels],
        rooms([weight for _, weight in side_by_side]),
    ):
        rows = [side_by_side]
    elif focused:
        rows = [[(focused, 1)], [(panel, 1) for panel in panels if panel is not focused]]
    else:
        rows = [[(panel, 1)] for panel in panels]
    for row in rows:
        for (column, px), (panel, _) in zip(columns([weight for _, weight in row]), row, strict=True):
            _, name, matrix, kind, title = panel
            with column:
                draw_heatmap(
                    matrix,
                    tokens,
                    tokens,
                    name,
                    room=px,
                    kind=kind,
                    title=None if presenting() and focused else f"▶ {title}" if panel is focused else title,
                    row_name="query",
                    column_name="key",
                    colorbar=panel is focused or not focused,
                )
    st.caption(
        "Rows are queries (the token that looks), columns are keys (the token looked at). "
        "Blue is negative, red positive; weights go from dark (0) to yellow (1)."
    )


def draw_numbers(trace, head, stage, i=None):
    """ "Show me the numbers": the arithmetic behind one cell at the given stage (4..7).

    ``i`` is the query row when the page already has a picker for it.
    """
    # Made only while open: a new visitor's first view is lighter, and a link naming a cell opens it.
    # Opened through its state, not `expanded=`: a changed argument is a new expander, which would take
    # the keyboard's focus away from the picker a student has just used.
    if "numbers_box" not in st.session_state:
        opened = st.session_state.get(NUMBERS_OPEN) or any(key in st.query_params for key in ("query", "key"))
        st.session_state["numbers_box"] = bool(opened)
    box = st.expander(
        "Show me the numbers",
        icon=":material/calculate:",
        key="numbers_box",
        on_change="rerun",
    )
    st.session_state[NUMBERS_OPEN] = bool(box.open)  # and it stays open on the next stage
    if not box.open:
        return
    with box:
        left, right = st.columns(2)
        if i is None:
            with left:
                i = token_picker(trace, "Query token (row)", "query")
        j = None
        if stage <= 5:
            with right:
                j = token_picker(trace, "Key token (column)", "key")
        work = numbers.worked(trace, head, stage, i, j, lambda token: f"**{escape_markdown(token)}**")
        st.markdown(work.intro)
        draw_table(work.table, work.description)
        if work.formula:
            st.latex(work.formula)
        if stage <= 5 and not trace.config.scale:
            st.caption("Scaling is off, so the score is divided only by the temperature.")
        if stage == 6 and not work.terms.allowed.all():
            st.caption("Masked keys count as −∞ after the mask, so their exponential is exactly 0.")


def draw_weighted_sum(trace, head, i):
    """Output row i as the picture "0.6·V(the) + 0.3·V(cat) + …": one row per weighted value, then the sum."""
    tokens = labels(trace)
    terms = output_terms(trace, head, i)
    order = sorted(range(len(tokens)), key=lambda j: -terms.weights[j])
    st.markdown(
        f"output({escape_markdown(tokens[i])}) = "
        + " + ".join(f"{terms.weights[j]:.2f} · V({escape_markdown(tokens[j])})" for j in order[:6])
        + (" + …" if len(tokens) > 6 else "")
    )
    rows = [f"{terms.weights[j]:.2f} × V({tokens[j]})" for j in range(len(tokens))] + [
        f"= output({tokens[i]})"
    ]
    matrix = [*terms.contributions, terms.total]
    draw_heatmap(
        matrix,
        rows,
        frames.dim_labels("v", trace.v.shape[-1]),
        f"weighted_sum_{i + 1}",
        title="each value vector times its weight, and their sum",
    )


def _switch_to(page):
    # Without query_params, switch_page clears the URL's parameters, which Streamlit refuses while
    # widgets are bound to them; an empty dict replaces only the unbound ones. controls() then puts
    # the bound settings back on the new page.
    st.switch_page(page.path, query_params={})


def _stop_presenting():
    st.session_state["present"] = False


def draw_presenter_bar(page):
    """Large previous/next buttons at the top of every page in presenter mode, always in the same place.

    Keys: ← and → (the buttons' own shortcuts), and a presentation clicker's PageUp and PageDown
    (shortcuts of two buttons that CSS hides); Esc leaves presenter mode.
    """
    previous, following = neighbours(page)
    with st.container(key="presenter_bar"):
        back, _, forward, leave = st.columns([4, 1, 4, 2])
        if previous and back.button(
            f"◀  {previous.title}", key="present_previous", shortcut="Left", width="stretch"
        ):
            _switch_to(previous)
        if following and forward.button(
            f"{following.title}  ▶", key="present_next", shortcut="Right", width="stretch"
        ):
            _switch_to(following)
        leave.button(
            "Exit",
            key="present_exit",
            shortcut="Esc",
            on_click=_stop_presenting,
            width="stretch",
            help="Leave presenter mode (Esc)",
        )
    with st.container(key="clicker_keys"):
        if previous and st.button("previous page", key="clicker_previous", shortcut="PageUp"):
            _switch_to(previous)
        if following and st.button("next page", key="clicker_next", shortcut="PageDown"):
            _switch_to(following)


def draw_checks(trace, head, stage):
    """The stage's shapes and invariants, checked on the numbers shown, as small badges in one line."""
    results = checks.stage_checks(trace, head, stage)
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


def _reveal(key, question, guess_key):
    right, message = quiz.grade(question, st.session_state[guess_key])
    st.session_state.setdefault("quiz_answers", {})[key] = (right, message)
    st.session_state["quiz_right"] = st.session_state.get("quiz_right", 0) + right
    st.session_state["quiz_total"] = st.session_state.get("quiz_total", 0) + 1


def _next_question():
    st.session_state["quiz_draw"] = st.session_state.get("quiz_draw", 0) + 1


def _quiz_key(trace, settings, stage):  # -> the key of this stage's current question for these settings
    draw = st.session_state.get("quiz_draw", 0)
    return (
        draw,
        f"{stage}|{draw}|{settings.model}|{settings.layer}|{settings.head}|{trace.config}|{trace.tokens}",
    )


def predict_gate(trace, settings, stage):  # -> True once the page may show its numbers
    """Predict first: a question about this trace; the answers stay hidden until a guess is committed."""
    if not settings.predict:
        return True
    _, key = _quiz_key(trace, settings, stage)
    answered = key in st.session_state.get("quiz_answers", {})
    _draw_question(trace, settings, stage, answered)
    return answered


@st.fragment
def _draw_question(trace, settings, stage, answered):
    """The question box: choosing a guess reruns the box alone; Reveal and Next rerun the page."""
    draw, key = _quiz_key(trace, settings, stage)
    question = quiz.question_for(trace, settings.head, stage, draw)
    with st.container(border=True, key="quiz"):
        st.markdown(f"**Predict first.** {escape_markdown(question.prompt)}")
        if not answered:
            guess_key = f"quiz_guess_{stage}_{draw}"
            if question.options:  # no preselected answer: a guess has to be a choice
                st.radio("Your guess", question.options, index=None, key=guess_key, horizontal=True)
            else:
                st.number_input("Your guess", value=None, step=0.1, format="%.2f", key=guess_key)
            if st.button(
                "Reveal", key="quiz_reveal", type="primary", disabled=st.session_state.get(guess_key) is None
            ):
                _reveal(key, question, guess_key)
                st.rerun()  # the whole page: its numbers appear below
            return
        right, message = st.session_state["quiz_answers"][key]
        (st.success if right else st.warning)(f"{message} {escape_markdown(question.reveal)}")
        tally = f"Right so far: {st.session_state.get('quiz_right', 0)} of {st.session_state.get('quiz_total', 0)}"
        left, right_column = st.columns([3, 1])
        left.caption(tally)
        if right_column.button("Next question", key="quiz_next"):
            _next_question()
            st.rerun()  # the whole page: its numbers hide again
