"""Downloads: a matrix as CSV with its labels, the whole trace as one JSON document."""

import base64
import dataclasses
import io
import json

import numpy as np


def frame_csv(frame):  # DataFrame -> UTF-8 CSV bytes, row and column labels included
    return frame.to_csv(index=True, float_format="%.17g").encode("utf-8")


def trace_json(trace, packed=False):  # AttentionTrace -> JSON text: config, tokens and every array
    """Every array as nested lists; or, ``packed``, as its float64 bytes in base64 (exact, and about half the
    size: the lesson file embeds it so, and unpacks it to nested lists when the student downloads it).

    The nested lists are written one row at a time, as ``json.dumps`` of the whole would write them: a
    trace of 128 word pieces holds about a million floats, too many to turn into Python floats at once."""
    source = trace.source
    head = {
        "model": source.caption,
        "source": {"family": source.family, "layer": source.layer, "options": dict(source.options)},
        "config": dataclasses.asdict(trace.config),
        "tokens": list(trace.tokens),
    }
    text = io.StringIO()
    text.write(json.dumps(head, ensure_ascii=False)[:-1])  # its closing brace comes last
    for field in dataclasses.fields(trace):
        value = getattr(trace, field.name)
        if isinstance(value, np.ndarray):
            text.write(f", {json.dumps(field.name)}: ")
            if packed and value.dtype.kind == "f":  # the mask stays true / false
                text.write(json.dumps(_packed(value)))
            else:
                _write_nested(text, value)
    text.write(f', "divisor": {json.dumps(trace.divisor)}}}')
    return text.getvalue()


def _write_nested(text, array):
    """The array as ``json.dumps(array.tolist())`` writes it (every digit of the float64), row by row."""
    if array.ndim <= 1:
        text.write(json.dumps(array.tolist()))
        return
    text.write("[")
    for i, part in enumerate(array):
        text.write(", " if i else "")
        _write_nested(text, part)
    text.write("]")


def _packed(array):  # -> {"shape", "float64" or "float32": base64 of the little-endian bytes}
    data = np.ascontiguousarray(array, dtype="<f8")
    narrow = data.astype("<f4")
    if np.array_equal(narrow, data, equal_nan=True):  # MiniLM's weights are float32: half the bytes, exact
        return {"shape": list(data.shape), "float32": base64.b64encode(narrow.tobytes()).decode("ascii")}
    return {"shape": list(data.shape), "float64": base64.b64encode(data.tobytes()).decode("ascii")}
