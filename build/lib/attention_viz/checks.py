"""Checks a student can see: the shapes and invariants of each stage, computed from the trace."""

from dataclasses import dataclass

import numpy as np

ATOL = 1e-9  # far above float64 rounding for these sizes, far below any visible number


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    detail: str  # the measured number behind the verdict


def _close(label, got, want):
    error = float(np.abs(got - want).max()) if got.size else 0.0
    return Check(
        label,
        error <= ATOL * max(1.0, float(np.abs(want).max(initial=0.0))),
        f"largest difference {error:.1e}",
    )


def stage_checks(trace, head, stage):  # -> list of Check for stage 1..7 and the head shown
    n, d_model = trace.x.shape
    d_k, d_v = trace.q.shape[-1], trace.v.shape[-1]
    shapes = {
        1: (trace.x.shape == (n, d_model), f"X is [{n} × {d_model}]: one row per token"),
        2: (trace.w_q.shape[1:] == (d_model, d_k), f"W_q is [{d_model} × {d_k}]: d_model in, d_k out"),
        3: (
            trace.q.shape[1:] == (n, d_k) and trace.v.shape[1:] == (n, d_v),
            f"Q is [{n} × {d_k}], V [{n} × {d_v}]",
        ),
        4: (trace.scores.shape[1:] == (n, n), f"scores are [{n} × {n}]: every query with every key"),
        5: (trace.scaled.shape == trace.scores.shape, "scaling keeps the shape"),
        6: (trace.weights.shape[1:] == (n, n), f"weights are [{n} × {n}]"),
        7: (trace.head_outputs.shape[1:] == (n, d_v), f"output is [{n} × {d_v}]: one row per token"),
    }
    passed, label = shapes[stage]
    checks = [Check(label, bool(passed), "shape")]
    h = head
    if stage == 3:
        checks.append(_close("Q = X·W_q (+ b_q)", trace.q[h], trace.x @ trace.w_q[h] + trace.b_q[h]))
    elif stage == 4:
        checks.append(_close("S = Q·Kᵀ", trace.scores[h], trace.q[h] @ trace.k[h].T))
    elif stage == 5:
        checks.append(
            _close(f"scaled = S / {trace.divisor:.3g}", trace.scaled[h], trace.scores[h] / trace.divisor)
        )
    elif stage == 6:
        weights = trace.weights[h]
        sums = weights.sum(axis=1)
        checks.append(
            Check(
                "each row sums to 1",
                bool(np.allclose(sums, 1.0, rtol=0, atol=ATOL)),
                f"largest difference {float(np.abs(sums - 1).max()):.1e}",
            )
        )
        masked = weights[~trace.mask]
        checks.append(
            Check(
                "masked entries are exactly 0",
                bool((masked == 0).all()),
                f"{masked.size} masked entries" if masked.size else "nothing is masked",
            )
        )
        checks.append(
            Check(
                "all weights between 0 and 1",
                bool(((weights >= 0) & (weights <= 1)).all()),
                f"from {weights.min():.3f} to {weights.max():.3f}",
            )
        )
    elif stage == 7:
        values, outputs = trace.v[h], trace.head_outputs[h]
        low, high = values.min(axis=0), values.max(axis=0)  # [d_v] the range the value rows span
        inside = (outputs >= low - ATOL) & (outputs <= high + ATOL)
        checks.append(
            Check(
                "each output row lies within the range of the value rows",
                bool(inside.all()),
                f"{int(inside.all(axis=1).sum())} of {n} rows inside",
            )
        )
        checks.append(_close("output = A·V", outputs, trace.weights[h] @ values))
    return checks
