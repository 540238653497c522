import streamlit as st

from attention_core import heads
from attention_viz import atlas as figures
from ui import atlas, models, render
from ui.columns import columns, rooms
from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/17_atlas.py")
settings, trace = page_setup(PAGE)
family = settings.family

st.title(PAGE.title)
roles = models.unless_busy(lambda: atlas.roles_for(family))
if roles is None:
    st.info(
        f"{family.title.capitalize()} has no layers of heads to name: its heads are on *Heads and W_o*. Choose "
        "**MiniLM** or **SmolLM2** under *Model* in the sidebar (if one is missing, the note below the choice "
        "says why).",
        icon=":material/school:",
    )
    st.stop()

model = family.model()
layers, n_heads = figures.grid_of(roles)
measured = heads.possible_roles(roles)
if not render.presenting():
    st.markdown(
        f"Every head of {render.escape_markdown(model.name)}, {layers} layers × {n_heads} heads, named by what "
        "it does on a few probe texts: a cell's colour is the head's **role**, its hover the **score**, the "
        "share of the head's attention that follows the pattern. Choose a head to see it at work on its probe "
        "and on your sentence."
    )
if render.presenting():  # the pickers beside the grid: the whole grid on one screen
    (grid_place, grid_px), (side, _) = columns([3, 1])
    places = [side] * 3
else:
    places, grid_place, grid_px = st.columns([2, 1, 1]), None, rooms([1])[0]
shown = atlas.picker_ui("atlas_role", [atlas.ALL, *measured], places[0])
layer = atlas.picker_ui("atlas_layer", list(range(layers)), places[1])
head = atlas.picker_ui("atlas_head", list(range(1, n_heads + 1)), places[2]) - 1
atlas.draw_notable(roles, shown)
with grid_place or st.container():
    atlas.draw_roles_grid(roles, grid_px, shown, (layer, head))
st.caption(
    f"A head is named for induction, the previous or next token or itself when that score is at least "
    f"{heads.SPECIFIC_THRESHOLD:g}, even if it also rests on a sink; else for the sink ([CLS], the first token "
    f"or [SEP]) that gets at least {heads.SINK_THRESHOLD:g} of its weight; else it is broad. Measured on "
    f"{len(heads.PROBE_TEXTS)} sentences and {heads.INDUCTION_SEQUENCES} sequences of "
    f"{heads.INDUCTION_TOKENS} random tokens repeated."
)

chosen = roles[layer * n_heads + head]
st.subheader(f"Layer {layer}, head {head + 1}: {render.escape_markdown(chosen.role)} ({chosen.score:.2f})")
if not render.presenting():
    st.markdown(figures.ROLE_TEXTS[chosen.role])
    st.caption(" · ".join(f"{render.escape_markdown(p)} {score:.2f}" for p, score in chosen.scores))
# The chosen head on the sentence: its layer's trace (a decoder runs the layers up to it, no further)
chosen_layer = models.unless_busy(
    lambda: models.trace_for(family, settings.options | {"layer": layer}, settings.sentence)
)
atlas.draw_chosen(model, chosen, chosen_layer.weights[head], render.labels(trace), trace.config.causal)
atlas.draw_stage_links(settings, layer, head)
if not render.presenting():
    st.subheader("What the roles mean")
    atlas.draw_role_list(measured)
render.draw_nav(PAGE, settings)
