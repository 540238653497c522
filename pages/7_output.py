from attention_viz import stages
from ui import numbers_panel, predict_first, render
from ui.columns import panel_columns
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("output")
settings, trace = page_setup(PAGE)
head = settings.head

render.draw_stage_intro(PAGE, trace, settings.family, settings.head)
if predict_first.predict_gate(trace, settings, PAGE.stage):
    weights, output = panels = stages.stage_panels(trace, PAGE.stage, head)
    widths = [len(weights.columns) + 3, len(output.columns) + 3]  # about the same cell width in both
    for (place, px), panel in zip(panel_columns(panels, widths), panels, strict=True):
        with place:
            render.draw_panel(panel, room=px)
    numbers_panel.draw_cell_panel(trace, head, PAGE.stage)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
