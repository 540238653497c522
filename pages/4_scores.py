from ui import numbers_panel, predict_first, render
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("scores")
settings, trace = page_setup(PAGE)

render.draw_stage_intro(PAGE, trace, settings.family, settings.head)
if predict_first.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=PAGE.stage)
    numbers_panel.draw_cell_panel(trace, settings.head, PAGE.stage)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
