from attention_viz import frames, text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(7)
settings, trace = page_setup(PAGE)
head = settings.head
tokens = render.labels(trace)
value_dims = frames.dim_labels("v", trace.v.shape[-1])

render.draw_stage_intro(PAGE, trace)
render.draw_shapes(*text.shapes(trace, PAGE.stage))

if render.predict_gate(trace, settings, PAGE.stage):
    weights, output = trace.weights[head], trace.head_outputs[head]
    (left, left_px), (right, right_px) = render.panel_columns(
        [(weights, tokens, tokens, True), (output, tokens, value_dims, True)],
        [len(tokens) + 3, len(value_dims) + 3],  # about the same cell width in both
    )
    with left:
        render.draw_heatmap(
            weights,
            tokens,
            tokens,
            "weights",
            room=left_px,
            kind="weights",
            title="A (softmax weights)",
            row_name="query",
            column_name="key",
        )
    with right:
        render.draw_heatmap(
            output, tokens, value_dims, "head_output", room=right_px, title="output = A · V", row_name="token"
        )
    render.draw_cell_panel(trace, head, 7)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
