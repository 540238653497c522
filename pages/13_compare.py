import streamlit as st

from attention_core import AttentionInputError
from attention_viz import budget, whatif
from attention_viz.panels import Panel
from ui import models, render
from ui.columns import columns, panel_columns
from ui.page import page_setup
from ui.pages import page_at
from ui.url_state import MAX_SENTENCE_CHARS, PAGE_DEFAULTS

PAGE = page_at("pages/13_compare.py")
MODES = {  # what the student picks (and the link says) -> what B changes
    "another sentence": "sentence",
    "the causal mask switched": "causal",
    "the scaling switched": "scale",
}
settings, trace = page_setup(PAGE)
head = settings.head
config = trace.config


def setting_name(run, mode):  # -> the switched setting as it is in this run
    if mode == "causal":
        return "causal mask on" if run.config.causal else "no causal mask"
    temperature = run.config.temperature
    return ("scores ÷ √d_k" if run.config.scale else "scores not scaled") + (
        f", then ÷ temperature {temperature:g}" if temperature != 1 else ""
    )


def second_run_ui(mode):  # -> (second trace or None, A's description, B's description)
    if mode in ("causal", "scale"):
        second = whatif.rerun(trace, **{mode: not getattr(config, mode)})
        return second, setting_name(trace, mode), setting_name(second, mode)
    sentence = st.text_input(
        "Second sentence",
        PAGE_DEFAULTS["compare_sentence"],
        key="compare_sentence",
        bind="query-params",
        max_chars=MAX_SENTENCE_CHARS,
        help="Same model and settings as the sidebar; only the sentence differs.",
    )
    a_text = render.escape_markdown(" ".join(trace.tokens))
    try:
        second = models.trace_for(settings.family, settings.options, sentence)
    except (AttentionInputError, budget.Busy) as error:
        st.info(f"The second sentence cannot be compared: {error}", icon=":material/edit_note:")
        return None, a_text, None
    return second, a_text, render.escape_markdown(" ".join(second.tokens))


def draw_weights(run, letter, description, room):
    tokens = render.labels(run)
    st.markdown(f"**{letter}** — {description}")
    render.draw_heatmap(
        run.weights[head],
        tokens,
        tokens,
        f"compare_{letter.lower()}",
        room=room,
        kind="weights",
        row_name="query",
        column_name="key",
    )


def draw_most_attended(run, letter):
    st.markdown(f"**{letter}** — where each token looks most")
    table = whatif.most_attended(run.weights[head], render.labels(run))
    st.dataframe(table, column_config={"weight": st.column_config.NumberColumn(format="%.2f")})
    st.caption(f"On average a token's largest weight is {whatif.mean_largest_weight(run.weights[head]):.2f}.")


def draw_difference(first, second):
    a_labels, b_labels = render.labels(first), render.labels(second)
    if len(a_labels) != len(b_labels):
        st.markdown("**B − A**")
        st.caption(
            f"A has {len(a_labels)} tokens and B has {len(b_labels)}, so their weights cannot be subtracted "
            "cell by cell: that needs the same number of tokens. Compare where each token looks most, in the "
            "tables below."
        )
        return
    labels = a_labels if a_labels == b_labels else whatif.pair_labels(a_labels, b_labels)
    old, new = first.weights[head], second.weights[head]
    mask = whatif.changed_cells(old, new)
    st.markdown("**B − A** — the change in weight")
    (left, left_px), (right, _) = columns(2)
    with left:
        render.draw_matrix_figure(
            whatif.shared_change_heatmap(
                old,
                new,
                labels,
                labels,
                room=int(left_px),
                row_name="query",
                column_name="key",
                large=render.presenting(),
            ),
            new - old,
            labels,
            labels,
            "compare_difference",
            "B − A, the change in weight",
            row_name="query",
            column_name="key",
        )
    with right:
        st.caption(
            f"{whatif.change_summary(mask, 'weights').capitalize()}"
            + (f"; the largest change is {whatif.largest_change(old, new):.3g}" if mask.any() else "")
            + ". Red: B attends more; blue: B attends less; blank: no change; framed: changed. "
            f"In {whatif.moved_rows(old, new)} of {len(labels)} rows the most-attended key is different."
            + (
                ""
                if a_labels == b_labels
                else " The rows and columns are positions: a changed word reads A→B."
            )
        )


st.title(PAGE.title)
if not render.presenting():
    st.markdown(
        "Run attention twice and put the two side by side: **A** is what the sidebar sets, **B** changes "
        "one thing. Try:\n"
        "- **Another sentence** that differs in one word (*the cat sat…* / *the dog sat…*): with the random "
        "model, only that token's row of X changes — yet every row of weights moves, because every query "
        "also looks at the new key.\n"
        "- **The causal mask switched**: with the mask, everything above the diagonal is 0 and each row "
        "shares its weight among fewer keys.\n"
        "- **The scaling switched**: without ÷√d_k the scores are larger, so softmax puts more of each row "
        "on one key — compare the average largest weight under the tables."
    )
mode = MODES[
    st.segmented_control(
        "Compare the current run with",
        tuple(MODES),
        key="compare_mode",
        bind="query-params",
        default=PAGE_DEFAULTS["compare_mode"],
        required=True,
    )
]
if mode != "sentence" and settings.family.option(mode) is None:  # the model's own setting, not the student's
    st.caption(
        f"{render.escape_markdown(trace.source.caption)} was trained with "
        + (("the causal mask" if config.causal else "no causal mask") if mode == "causal" else "scaling")
        + ": B is what this layer would compute from the same X and weights with that switched. "
        "It shows the mechanism, not what the model does."
    )
second, a_description, b_description = second_run_ui(mode)
if second is not None:
    runs = ((trace, "A", a_description), (second, "B", b_description))
    places = panel_columns(
        [
            Panel(letter, letter, run.weights[head], render.labels(run), render.labels(run))
            for run, letter, _ in runs
        ]
    )
    for (place, px), (run, letter, description) in zip(places, runs, strict=True):
        with place:
            draw_weights(run, letter, description, px)
    draw_difference(trace, second)
    for column, (run, letter, _) in zip(st.columns(2), runs, strict=True):
        with column:
            draw_most_attended(run, letter)

render.draw_nav(PAGE, settings)
