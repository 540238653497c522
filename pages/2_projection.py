import streamlit as st

from attention_viz import stages
from ui import render
from ui.columns import columns, cramped, rooms
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("projection")
settings, trace = page_setup(PAGE)
head = settings.head
config = trace.config

render.draw_stage_intro(PAGE, trace, settings.family, settings.head)
if config.n_heads > 1:
    st.caption(f"Showing head {head + 1} of {config.n_heads}; every head has its own three matrices.")

(x,) = stages.stage_panels(trace, "embedding", head)[-1:]  # X, the input
weights = {panel.name: panel for panel in stages.stage_panels(trace, PAGE.stage, head)}
results = {panel.name: panel for panel in stages.stage_panels(trace, "qkv", head)}
for name, prefix in (("Q", "q"), ("K", "k"), ("V", "v")):
    w, bias, result = weights[f"W_{prefix}"], weights.get(f"b_{prefix}"), results[name]
    st.subheader(f"X · W_{prefix}{f' + b_{prefix}' if bias else ''} = {name}")
    # X · W = result in one row, about the same cell width in each, unless that would be cramped.
    widths = [config.d_model + 3, 0.6, len(w.columns) + 3, 0.6, len(w.columns) + 3]
    row = [(p.values, p.rows, p.columns, True) for p in (x, w, result)]
    if cramped(row, rooms(widths)[::2]):
        (x_col, x_px), (w_col, w_px), (out_col, out_px) = [(st.container(), None)] * 3
        times = equals = None
    else:
        (x_col, x_px), (times, _), (w_col, w_px), (equals, _), (out_col, out_px) = columns(widths)
    with x_col:
        render.draw_panel(x, room=x_px, name=f"X_for_{name}", title="X", download=False)
    if times:
        times.markdown("## ·")
    with w_col:
        render.draw_panel(w, room=w_px)
        if bias:
            render.draw_panel(bias, room=w_px)
    if equals:
        equals.markdown("## =")
    with out_col:
        render.draw_panel(result, room=out_px, name=name, title=name)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
