"""The activation registry from Python: functions, their metadata and their derivatives."""
import numpy as np
import pytest

import actlab
from actlab import activations

X = np.linspace(-4, 4, 33).astype(np.float64)


def test_every_registered_activation_is_a_function_with_its_metadata():
    names = activations.names()
    assert {"relu", "tanh", "sigmoid", "gelu", "silu", "leaky_relu", "elu"} <= set(names)
    for name in names:
        function = getattr(activations, name)
        assert function.info["name"] == name
        assert function.info["formula"] and function.info["output_range"]
        assert function.info["formula"] in function.__doc__
    assert activations.info("swish")["name"] == "silu"  # an alias finds its entry
    with pytest.raises(KeyError, match="relu"):
        activations.info("no_such_activation")


def test_values_match_their_formulas():
    np.testing.assert_allclose(activations.relu(X), np.maximum(X, 0))
    np.testing.assert_allclose(activations.tanh(X), np.tanh(X), rtol=1e-6)
    np.testing.assert_allclose(activations.sigmoid(X), 1 / (1 + np.exp(-X)), rtol=1e-6)
    np.testing.assert_allclose(activations.leaky_relu(X, 0.1), np.where(X > 0, X, 0.1 * X), rtol=1e-6)
    np.testing.assert_allclose(activations.elu(X, alpha=0.5), np.where(X > 0, X, 0.5 * np.expm1(X)), rtol=1e-6)


def test_derivatives_by_autograd():
    np.testing.assert_allclose(activations.tanh.derivative(X), 1 - np.tanh(X) ** 2, rtol=1e-6)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(activations.sigmoid.derivative(X), s * (1 - s), rtol=1e-6)
    x = actlab.from_numpy(X.copy())
    assert isinstance(activations.relu.derivative(x), actlab.Tensor)
    assert not x.requires_grad  # the input is left as it was


def test_tensors_in_tensors_out():
    t = actlab.from_numpy(X.astype(np.float32))
    y = activations.relu(t)
    assert isinstance(y, actlab.Tensor) and y.dtype == "float32"


def test_activation_objects_and_bad_specs():
    leaky = actlab.activation("leaky_relu:0.2")
    assert leaky.spec.startswith("leaky_relu") and leaky.info["name"] == "leaky_relu"
    assert leaky.gain > 1
    np.testing.assert_allclose(leaky(actlab.from_numpy(np.array([-1.0]))).numpy(), [-0.2])
    with pytest.raises(actlab.Error, match="no_such_activation"):
        actlab.activation("no_such_activation")
    with pytest.raises(actlab.Error, match="negative_slope|parameter"):
        activations.leaky_relu(X, 1, 2, 3)
