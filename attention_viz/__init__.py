"""Figures and lessons from an attention trace, without Streamlit.

    from attention_core import run_attention
    from attention_viz import stage_figures
    from attention_viz.lesson import lesson_html

    trace = run_attention("the cat sat on the mat")
    stage_figures(trace, "softmax")[0].show()  # the softmax weights as a Plotly heatmap
    open("lesson.html", "w").write(lesson_html(trace))  # the whole lesson, for a browser alone

``stages`` declares each stage as data (its panels, checks, question, text and shapes), ``panels`` says
which matrices a stage shows, ``charts`` draws them (Plotly), ``frames`` labels (pandas), ``layout``
decides a heatmap's pixels, ``text`` is what each stage says, ``numbers``, ``checks`` and ``quiz`` work
through one cell, check the invariants and ask a question, ``whatif`` recomputes after an edit, ``export``
writes CSV and JSON, and ``lesson`` writes the lesson file. The app's pages (``ui/``) draw the same things
with Streamlit.
"""

from attention_viz.panels import Panel, panel_figure
from attention_viz.stages import VIEWS, stage_figures, stage_panels

__all__ = ["VIEWS", "Panel", "panel_figure", "stage_figures", "stage_panels"]
