"""Plotly's code asked for at a page's first element, not when its first chart arrives.

Streamlit's frontend fetches and runs its Plotly chunk (4.7 MB, the largest part of a first view) only
when a chart's message comes, and the sidebar's messages and the model's computation come first. This
tiny component (no visible output) imports the same file, by the name Streamlit built it under, as soon
as the page starts; the chart's own import then finds it loaded. A file not found imports nothing. Only
a session's first run asks: the browser window keeps the module for every later page.
"""

import functools
from pathlib import Path

import streamlit as st

_JS = """
export default function (component) {
  const name = component.data.name;
  const index = document.querySelector('script[src*="/static/js/index."]');
  if (!name || !index || window.__attentionPlotlyLoading) return;
  window.__attentionPlotlyLoading = import(new URL(name, index.src).href).catch(() => undefined);
}
"""
_preloader = st.components.v2.component("attention_preload", js=_JS)


@functools.cache
def _plotly_chunk():  # -> the file name of Streamlit's Plotly chunk, or "" if this build has none
    found = sorted((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if found else ""


ASKED = "ui_plotly_asked"  # session: the browser was asked for Plotly's chunk (its window keeps it)


def plotly_early():  # on a session's first run only: a rerun's messages stay as few as before
    if not st.session_state.get(ASKED):
        st.session_state[ASKED] = True
        _preloader(key="preload", data={"name": _plotly_chunk()}, height=0)
