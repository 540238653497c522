"""Why divide by sqrt(d_k): the experiment must show the effect, and its statistics must be right."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from attention_core import scaling_experiment
from attention_core.scaling import _row_stats


@pytest.fixture(scope="module", params=[0, 1, 2])
def experiment(request):
    return scaling_experiment(seed=request.param)


def test_variance_grows_like_d_k_without_scaling(experiment):
    assert list(experiment.d_k) == [1, 4, 16, 64, 256, 1024]
    # q . k sums d_k products of independent unit normals, so its variance is d_k;
    # 64 x 16 x 16 samples estimate it to a few per cent.
    assert_allclose(experiment.variance_raw / experiment.d_k, 1.0, atol=0.1)
    assert_allclose(experiment.variance_scaled, 1.0, atol=0.1)


def test_without_scaling_softmax_saturates(experiment):
    assert np.all(np.diff(experiment.max_weight_raw) > 0)  # the largest weight rises...
    assert experiment.max_weight_raw[-1] > 0.9  # ...towards 1
    assert np.all(np.diff(experiment.entropy_raw) < 0)
    assert experiment.entropy_raw[-1] < 0.1 * math.log(16)  # near one-hot (uniform is log n)
    # The Jacobian norm is largest for a moderately peaked row, so from d_k = 1 (nearly flat rows)
    # to 4 it may rise; from there on it falls, to a small fraction of its start.
    assert np.all(np.diff(experiment.grad_norm_raw[1:]) < 0)
    assert experiment.grad_norm_raw[-1] < 0.25 * experiment.grad_norm_raw[0]


def relative_spread(values):
    return (values.max() - values.min()) / values.mean()


@pytest.mark.parametrize("statistic", ["max_weight", "entropy", "grad_norm"])
def test_with_scaling_the_softmax_stays_put(experiment, statistic):
    raw, scaled = getattr(experiment, f"{statistic}_raw"), getattr(experiment, f"{statistic}_scaled")
    # At d_k = 1 the score is a product of two normals rather than a normal, hence 0.25 and not 0.
    assert relative_spread(scaled) < 0.25
    assert relative_spread(raw) > 1.0


def test_row_statistics_by_hand():
    logits = np.array([[0.0, math.log(3.0)], [0.0, -np.inf]])
    max_weight, entropy, grad_norm = _row_stats(logits)
    # Row 0: p = [1/4, 3/4]. Entropy -(1/4 ln 1/4 + 3/4 ln 3/4). The Jacobian diag(p) - p p^T is
    # [[3/16, -3/16], [-3/16, 3/16]], whose Frobenius norm is sqrt(4 * (3/16)^2) = 3/8.
    # Row 1: p = [1, 0], one-hot: no entropy and a zero Jacobian.
    assert_allclose(max_weight, [0.75, 1.0], rtol=1e-15)
    assert_allclose(entropy, [-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), 0.0], rtol=1e-14, atol=0)
    assert_allclose(grad_norm, [0.375, 0.0], rtol=1e-14, atol=0)
