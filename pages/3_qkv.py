from ui import frames, render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(3)
settings, trace = page_setup(PAGE)
head = settings.head
tokens = render.labels(trace)

render.draw_stage_intro(
    PAGE,
    "Every token now has three vectors. Its **query** will be compared with every token's **key** to "
    "decide where to look; the **values** are what gets mixed together once that is decided. "
    "Q and K must have the same width d_k so that they can be compared with a dot product; "
    "V may have its own width d_v.",
    r"q_i = x_i W_q,\quad k_j = x_j W_k,\quad v_j = x_j W_v",
)
render.draw_shapes(("Q", trace.q.shape[1:]), ("K", trace.k.shape[1:]), ("V", trace.v.shape[1:]))
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
