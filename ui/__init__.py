"""Streamlit-side helpers: the shared sidebar (controls), frames, charts, exports and page drawing.

Only ``controls`` and ``render`` import Streamlit; ``frames``, ``charts`` and ``export``
are plain functions that tests call directly.
"""
