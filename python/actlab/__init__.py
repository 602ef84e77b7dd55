"""actlab from Python: tensors shared with NumPy, the activation registry, and the experiments
of `actlab compare` and `actlab diagnose`.

    import actlab
    t = actlab.from_numpy(array)          # shares the array's memory where the layout allows
    actlab.activations.gelu(array)        # every registered activation, with .info
    result = actlab.compare({"data": "spirals", "activations": ["relu", "tanh"], "epochs": 3})
    pandas.DataFrame(result["records"])   # one row per run and epoch

Errors raised by actlab arrive as actlab.Error (a RuntimeError) with actlab's message.
"""
import numpy as np

from actlab._core import Activation, Error, Experiment, Tensor, __version__
from actlab._core import from_numpy as _from_numpy
from actlab._core import make_activation as activation
from actlab._core import setting_keys as _setting_keys
from actlab import activations
from actlab.experiments import Comparison, Diagnosis, compare, diagnose, load

_NATIVE = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.uint8)}


def from_numpy(array):
    """A Tensor viewing `array`'s memory when its dtype is float32, float64, int64 or uint8 (bool
    is viewed as uint8), it is writable and its strides are whole elements; otherwise a Tensor
    over a converted copy (other integers become int64, other floats float32)."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    elif array.dtype not in _NATIVE:
        if array.dtype.kind in "iu":
            array = array.astype(np.int64)
        elif array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.newbyteorder("=") in _NATIVE:
            array = array.astype(array.dtype.newbyteorder("="))
        else:
            raise TypeError(f"from_numpy: arrays of dtype {array.dtype} have no actlab dtype; use a number dtype")
    return _from_numpy(array)


def settings():
    """Every settings key of compare and diagnose (also a config key): key, type and help."""
    return _setting_keys()


__all__ = ["Activation", "Comparison", "Diagnosis", "Error", "Experiment", "Tensor", "activation", "activations",
           "compare", "diagnose", "from_numpy", "load", "settings", "__version__"]
