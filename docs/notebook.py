# %% [markdown]
# # Self-attention in a notebook
#
# The same core and figures as the app, without a server: `pip install ".[viz]"` from the repository
# (add `models` for MiniLM), then run this file as a script or cell by cell in Jupyter or VS Code.

# %%
import sys

import attention_viz
from attention_core import AttentionConfig, run_attention
from attention_viz import stage_figures, stage_panels
from attention_viz.lesson import View, lesson_html

print("attention_viz from", attention_viz.__file__)
trace = run_attention("the cat sat on the mat", AttentionConfig(d_model=8, d_k=4, causal=True))
trace.weights[0].round(2)  # [n, n]: the softmax weights of head 0

# %% Any stage as Plotly figures: here the softmax weights (.show() draws it in a notebook)
for panel, figure in zip(stage_panels(trace, "softmax"), stage_figures(trace, "softmax"), strict=True):
    print(panel.title, panel.values.shape, "→", type(figure).__name__)

# %% The whole lesson as one HTML file, for a browser alone; the cell worked through is sat · cat
tokens = list(trace.tokens)
path = sys.argv[1] if len(sys.argv) > 1 else "lesson.html"
with open(path, "w", encoding="utf-8") as file:
    file.write(lesson_html(trace, View(query=tokens.index("sat"), key=tokens.index("cat"))))
print("wrote", path)
