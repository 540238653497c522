"""Matrices from the trace as labelled DataFrames, kept apart from drawing (the Annotated Transformer's mtx2df)."""

import numpy as np
import pandas as pd


def token_labels(tokens):  # n tokens -> n unique labels; a repeated token gets its occurrence: "the", "the²"
    superscripts = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    labels = []
    for token in tokens:
        label, occurrence = token, 1
        while label in labels:  # also steps past a token that already looks like "the²"
            occurrence += 1
            label = f"{token}{str(occurrence).translate(superscripts)}"
        labels.append(label)
    return labels


def dim_labels(prefix, size):  # "q", 4 -> ["q1", "q2", "q3", "q4"]
    return [f"{prefix}{m + 1}" for m in range(size)]


def matrix_frame(matrix, rows, columns):  # [r, c], r labels, c labels -> DataFrame
    return pd.DataFrame(np.asarray(matrix, dtype=np.float64), index=list(rows), columns=list(columns))
