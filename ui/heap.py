"""How the server collects garbage, with Streamlit's collection after every run switched off.

Python's generational collector stays on with its default thresholds: it frees the cycles a run
leaves behind (a figure dropped from ``charts.shared``, a closed session) in its young generations,
and runs a full collection only once the long-lived objects have grown by a quarter. What a full
collection walks is kept small: the objects made while importing Streamlit, pandas and Plotly
(Plotly builds its property validators lazily, on a figure's first use) live as long as the process,
so once they exist they are moved out of the collector's sight with ``gc.freeze()``.
"""

import gc

import numpy as np

from attention_viz import charts, frames

_frozen = False


def _warm_plotly():  # build one figure of each kind, so Plotly's lazily made validators exist
    frames.matrix_frame(np.eye(2), ["a", "b"], ["a", "b"])  # and pandas' first frame (tables, CSV)
    charts.heatmap(np.eye(2), ["a", "b"], ["a", "b"])
    charts.head_grid(np.ones((1, 2, 2, 2)) / 2, ["layer"], ["head 1", "head 2"])


def freeze_imports():
    """Once per process: warm Plotly, collect, then freeze every object alive (imports, modules)."""
    global _frozen
    if _frozen:
        return
    _warm_plotly()
    gc.collect()
    gc.freeze()
    _frozen = True
