"""The room's answers to a predict-first question: how many chose what, and its chart.

Plain functions (no Streamlit): ``tally`` counts the guesses (per option, or in a few bins for a number),
``tally_figure`` draws them as bars, ``describe_tally`` is the chart's text alternative. Labels are
tokens of the sentence, user text: the figure escapes them for Plotly.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

from attention_viz.charts import LINE_COLORS, _plotly_text, figure

MAX_BINS = 10  # a histogram of numeric guesses: at most this many bars


@dataclass(frozen=True)
class Tally:
    labels: tuple  # one per bar: an option, or a range of numbers "0.25 – 0.50"
    counts: tuple  # guesses per bar
    right: int | None  # the bar that holds the answer, once revealed; None before
    numeric: bool

    @property
    def total(self):
        return sum(self.counts)


def _number(guess):  # -> a finite float, or None for a guess that is not a number
    try:
        value = float(guess)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def tally(question, guesses, revealed=False):  # Question, [guess] -> Tally
    """Per option in the question's order (zero counts included), or numbers in equal bins over the guesses
    (and the answer, once revealed: its bar is marked)."""
    if question.options:
        counts = [sum(guess == option for guess in guesses) for option in question.options]
        right = question.options.index(question.answer) if revealed else None
        return Tally(tuple(question.options), tuple(counts), right, False)
    numbers = [n for n in map(_number, guesses) if n is not None]
    shown = numbers + ([float(question.answer)] if revealed else [])
    if not shown:
        return Tally((), (), None, True)
    low, high = min(shown), max(shown)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    bins = min(MAX_BINS, max(1, len(set(shown))))
    edges = np.linspace(low, high, bins + 1)
    counts, _ = np.histogram(numbers, edges)
    labels = tuple(f"{a:.2f} – {b:.2f}" for a, b in itertools.pairwise(edges))
    right = None
    if revealed:
        right = min(int(np.searchsorted(edges, float(question.answer), side="right")) - 1, bins - 1)
    return Tally(labels, tuple(int(c) for c in counts), right, True)


def describe_tally(result):  # -> the chart's text alternative
    if not result.total:
        return "guesses of the class: none yet"
    parts = [f"{label}: {count}" for label, count in zip(result.labels, result.counts, strict=True) if count]
    said = f"guesses of the class, {result.total} in all; " + ", ".join(parts)
    if result.right is not None:
        said += f"; the answer is in {result.labels[result.right]}"
    return said


def tally_figure(result, height=260):  # -> a Plotly bar chart of the tally
    colors = [LINE_COLORS[1] if k == result.right else LINE_COLORS[0] for k in range(len(result.labels))]
    data = [
        {
            "type": "bar",
            "x": _plotly_text(result.labels),
            "y": list(result.counts),
            "marker": {"color": colors},
            "text": [str(c) if c else "" for c in result.counts],
            "textposition": "auto",
            "hovertemplate": "%{x}: %{y}<extra></extra>",
        }
    ]
    y_axis = {"title": {"text": "students"}, "rangemode": "tozero"}
    if max(result.counts, default=0) <= 10:
        y_axis["dtick"] = 1  # whole students
    layout = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "xaxis": {
            "type": "category",
            "automargin": True,
            "title": {"text": "guess" if result.numeric else ""},
        },
        "yaxis": y_axis,
        "showlegend": False,
        "bargap": 0.1 if result.numeric else 0.3,
    }
    return figure(data, layout)
