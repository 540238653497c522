from attention_viz import stages
from ui import render
from ui.columns import panel_columns
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("qkv")
settings, trace = page_setup(PAGE)

render.draw_stage_intro(PAGE, trace, settings.family, settings.head)
panels = stages.stage_panels(trace, PAGE.stage, settings.head)
for (place, px), panel in zip(panel_columns(panels), panels, strict=True):
    with place:
        render.draw_panel(panel, room=px)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
