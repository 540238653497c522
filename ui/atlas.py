"""The atlas of heads and attention across layers in the app: the roles and rollouts, their pickers and grid.

A model's head roles are measured once per server process (``attention_core.heads.head_roles``) and a
sentence's rollout once per sentence and model (``ROLLOUTS``, within its byte budget); every session
shares both. The pickers are bound to the URL (``atlas_role``, ``atlas_layer``, ``atlas_head``,
``rollout_layer``: ``ui.url_state.PAGE_OPTIONS``), so a copied link reopens the same view.
"""

import streamlit as st

from attention_core import AttentionInputError, heads
from attention_viz import atlas, budget, charts, frames, layout
from attention_viz.budget import SharedCache
from ui import models, render
from ui.columns import columns, cramped, rooms
from ui.pages import stage_page
from ui.presenter import presenting
from ui.url_state import PAGE_OPTIONS

ROLLOUTS = SharedCache("rollouts", budget.BUDGETS["rollouts"])
ALL = PAGE_OPTIONS["atlas_role"].default  # "all roles"
PRESENTER_GRID_PX = 400  # on a projector the grid fits under the pickers, on one 1280×720 screen
PANEL_PLOT_PX = 440  # a head at work is a pattern to see at a glance: its cells within this height
_shared_roles_figure = charts.shared(atlas.roles_figure)


def roles_for(family):  # -> every head's HeadRole, or None for a model without several layers to measure
    """Measured on the probes the first time anyone asks in this process (a second or two), then shared."""
    if family.model is None:
        return None
    model = family.model()
    if len(model.layers) < 2:
        return None
    known = heads.measured_roles(model)
    if known is not None:
        return known
    with st.spinner("Measuring every head on the probes (once per server)…"):
        return heads.head_roles(model)


def rollout_for(family, options, sentence, weights):  # weights [layers, h, n, n] -> [layers, n, n], shared
    key = (family.key, models.status(family.key).message, sentence, tuple(sorted(options.items())))
    return ROLLOUTS.get(key, lambda: _frozen(heads.rollout_by_layer(weights)))


def _frozen(array):  # shared by every session: nobody may write into it
    array.flags.writeable = False
    return array


def _refuse_unknown(name, choices):  # a link's value the chosen model lacks (layer 20 of MiniLM): say so
    raw = st.query_params.get(name)
    if raw is None or raw in [str(choice) for choice in choices]:
        return
    try:
        PAGE_OPTIONS[name].parse(raw)
    except AttentionInputError:  # no model has it: ui.url_state's notices said so already
        return
    st.toast(
        f"The link's value for “{name}” was not usable; using {choices[0]} instead.",
        icon=":material/link_off:",
    )


def picker_ui(name, choices, place):  # a selectbox of PAGE_OPTIONS[name], bound to the URL -> its choice
    _refuse_unknown(name, choices)
    option = PAGE_OPTIONS[name]
    return place.selectbox(option.label, choices, key=name, bind="query-params", help=option.help)


def layer_slider_ui(layers):  # Across layers' "Up to layer", bound to the URL -> a layer from 0
    _refuse_unknown("rollout_layer", list(range(layers)))
    option = PAGE_OPTIONS["rollout_layer"]
    return st.slider(option.label, 0, layers - 1, 0, key=option.name, bind="query-params", help=option.help)


def _notable_label(r):
    return f"{r.role}: layer {r.layer}, head {r.head + 1} ({r.score:.2f})"


def _pick(picks):  # a notable head chosen: choose it in the pickers (before they are drawn), then let go
    label = st.session_state.get("atlas_notable")
    chosen = next((r for r in picks if _notable_label(r) == label), None)
    if chosen is not None:
        st.session_state["atlas_layer"], st.session_state["atlas_head"] = chosen.layer, chosen.head + 1
    st.session_state["atlas_notable"] = None


def draw_notable(roles, shown):
    """Each role's strongest head (for one role shown: its strongest heads), one click away."""
    picks = (
        [atlas.strongest(roles, role)[0] for role, _ in atlas.legend_entries(roles)]
        if shown == ALL
        else atlas.strongest(roles, shown)[:9]
    )
    if picks and not presenting():  # on a projector the pickers do: the grid keeps the screen
        st.pills(
            "Strongest heads", [_notable_label(r) for r in picks], key="atlas_notable", on_change=_pick,
            args=(picks,), help="Choose one to see it below.",
        )  # fmt: skip


def draw_roles_grid(roles, room, shown, chosen):
    """The grid of every head's role, its text alternative, and the same as a table when opened."""
    only = None if shown == ALL else shown
    figure = _shared_roles_figure(
        roles, int(room), shown=only, chosen=chosen, large=presenting(),
        max_plot=PRESENTER_GRID_PX if presenting() else layout.MAX_PLOT_PX,
    )  # fmt: skip
    alt = atlas.describe_roles(roles, only)
    render.draw_figure(figure, "atlas_roles", alt)
    layers, n_heads = atlas.grid_of(roles)
    table = st.expander(
        f"Roles as a table ({layers} × {n_heads})", key="table_atlas_roles", on_change="rerun"
    )
    if table.open:
        with table, st.container(key="numbers_table_atlas_roles"):
            st.table(atlas.roles_frame(roles), width="content", alt=alt)


def sentence_scores(weights, causal):  # one head's [n, n] on the user's sentence -> {pattern: score}
    if len(weights) < 3:  # too short for a row with a token before and after it
        return {}
    return {k: float(v[0, 0]) for k, v in heads.text_scores(weights[None, None], causal).items()}


def draw_chosen(model, chosen, weights, tokens, causal):
    """The chosen head (a HeadRole) at work: on its role's probe (for induction also on a text where copying
    predicts the next word) and on the user's sentence (its attention ``weights`` [n, n], ``tokens``), two
    side by side unless that would cramp them."""
    layer, head = chosen.layer, chosen.head
    probes = [heads.role_probe(model, chosen.role)]
    if chosen.role == heads.INDUCTION:
        probes.append(heads.copying_probe(model))
    panels = [
        (p.weights[layer, head], frames.token_labels(p.tokens), f"on {p.title}", f"atlas_probe_{k}", False)
        for k, p in enumerate(probes)
    ] + [(weights, tokens, "on your sentence", "atlas_sentence", True)]
    for pair in (panels[k : k + 2] for k in range(0, len(panels), 2)):
        side_by_side = not cramped(
            [(v, labels, labels, False) for v, labels, *_ in pair], rooms([1, 1])[: len(pair)]
        )
        places = columns(2) if side_by_side else [(st.container(), None) for _ in pair]
        for (values, labels, title, name, download), (place, px) in zip(pair, places, strict=False):
            with place:
                render.draw_heatmap(
                    values, labels, labels, name, room=px, kind="weights", title=title, row_name="query",
                    column_name="key", download=download, max_plot=PANEL_PLOT_PX,
                )  # fmt: skip
    if presenting():
        return
    scores = sentence_scores(weights, causal)
    if chosen.role in scores:
        st.caption(
            f"On your sentence its {chosen.role} score is {scores[chosen.role]:.2f} (on the probes "
            f"{chosen.score:.2f})."
        )
    if chosen.role == heads.INDUCTION:
        st.caption(
            f"In “{render.escape_markdown(heads.COPYING_TEXT)}” the last token looks back at the token that "
            "followed its earlier copy: the name the model is about to write again."
        )


def draw_stage_links(settings, layer, head):  # the stage pages, opened on this layer and head
    link = {**settings.link_params, "layer": str(layer), "head": str(head + 1)}
    left, right = st.columns(2)
    left.page_link(
        stage_page("softmax").link,
        label=f"Layer {layer}, head {head + 1}: its softmax weights",
        icon=":material/arrow_forward:",
        query_params=link,
    )
    right.page_link(
        stage_page("scores").link,
        label="Its scores, step by step",
        icon=":material/arrow_forward:",
        query_params=link,
    )


def draw_role_list(measured):  # what each role of this model means, and what it is measured on
    lines = [f"- **{render.escape_markdown(role)}** — {atlas.ROLE_TEXTS[role]}" for role in measured]
    sentences = " / ".join(f"“{render.escape_markdown(text)}”" for text in heads.PROBE_TEXTS)
    st.markdown("\n".join(lines))
    st.caption(
        f"The patterns by position are measured on {len(heads.PROBE_TEXTS)} probe sentences: {sentences}. "
        f"Induction on {heads.INDUCTION_SEQUENCES} sequences of {heads.INDUCTION_TOKENS} random tokens, each "
        "followed by the same tokens again, where only copying predicts the repeat; it is at work in "
        f"“{render.escape_markdown(heads.COPYING_TEXT)}”, whose next word is the one that followed “Quenby” "
        "before. Broad is what is left when no pattern reaches its threshold."
    )
