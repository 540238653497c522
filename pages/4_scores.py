from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(4)
settings, trace = page_setup(PAGE)

render.draw_stage_intro(
    PAGE,
    "To decide where each token should look, its query is compared with every key by a **dot product**: "
    "multiply entry by entry and add up. A large positive score means the key matches what the query is "
    "looking for. Doing this for every pair at once is one matrix product, giving an n × n table: row i "
    "holds query i's scores against all keys.",
    r"S = Q K^{\top}, \qquad S_{ij} = q_i \cdot k_j = \sum_{m=1}^{d_k} q_{i,m}\, k_{j,m}",
)
render.draw_shapes(("Q", trace.q.shape[1:]), ("Kᵀ", trace.k.shape[:0:-1]), ("S", trace.scores.shape[1:]))
if render.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=4)
    render.draw_cell_panel(trace, settings.head, 4)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
