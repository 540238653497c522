from attention_viz import frames, text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(3)
settings, trace = page_setup(PAGE)
head = settings.head
tokens = render.labels(trace)

render.draw_stage_intro(PAGE, trace)
render.draw_shapes(*text.shapes(trace, PAGE.stage))
panels = [
    (name, role, matrix[head], frames.dim_labels(name.lower(), matrix.shape[-1]))
    for name, role, matrix in (("Q", "queries", trace.q), ("K", "keys", trace.k), ("V", "values", trace.v))
]
places = render.panel_columns([(matrix, tokens, dims, True) for _, _, matrix, dims in panels])
for (place, px), (name, role, matrix, dims) in zip(places, panels, strict=True):
    with place:
        render.draw_heatmap(matrix, tokens, dims, name, room=px, title=f"{name} ({role})", row_name="token")

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
