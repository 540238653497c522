"""Downloads: a matrix as CSV with its labels, the whole trace as one JSON document."""

import dataclasses
import json

import numpy as np


def frame_csv(frame):  # DataFrame -> UTF-8 CSV bytes, row and column labels included
    return frame.to_csv(index=True, float_format="%.17g").encode("utf-8")


def trace_json(trace):  # AttentionTrace -> JSON text: config, tokens and every array as nested lists
    document = {
        "model": trace.model,
        "config": dataclasses.asdict(trace.config),
        "tokens": list(trace.tokens),
    }
    for field in dataclasses.fields(trace):
        value = getattr(trace, field.name)
        if isinstance(value, np.ndarray):
            document[field.name] = value.tolist()  # Python floats keep every digit of the float64
    document["divisor"] = trace.divisor
    return json.dumps(document, ensure_ascii=False)
