"""Every activation of actlab's registry as a function: `relu(x)`, `leaky_relu(x, 0.1)`,
`elu(x, alpha=0.5)`. x is a NumPy array (the result is one too) or an actlab.Tensor.

Each function carries the registry's metadata in `.info` (formula, derivative, output range,
properties, parameters, when to use it) and its derivative by autograd in `.derivative(x)`.
`names()` lists them in registry order and `info(name)` gives one entry.
"""
import numpy as np

from actlab import _core


def _spec(name, args, kwargs):
    values = [repr(float(v)) if isinstance(v, float) else str(v) for v in args]
    values += [f"{key}={value}" for key, value in kwargs.items()]
    return name + (":" + ",".join(values) if values else "")


def _as_tensor(x):
    if isinstance(x, _core.Tensor):
        return x, False
    from actlab import from_numpy
    return from_numpy(np.asarray(x, dtype=np.float32) if not isinstance(x, np.ndarray) else x), True


def _make(info):
    name = info["name"]

    def function(x, *args, **kwargs):
        tensor, was_numpy = _as_tensor(x)
        y = _core.make_activation(_spec(name, args, kwargs))(tensor)
        return y.numpy() if was_numpy else y

    def derivative(x, *args, **kwargs):
        """f'(x) elementwise, by autograd."""
        tensor, was_numpy = _as_tensor(x)
        leaf = (tensor.detach() * 1.0).detach().requires_grad_()  # a leaf of its own; x is left untouched
        _core.make_activation(_spec(name, args, kwargs))(leaf).sum().backward()
        return leaf.grad.numpy() if was_numpy else leaf.grad

    params = ", ".join(f"{p['name']}={p['default']:g}" for p in info["params"])
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"{name}(x{', ' + params if params else ''}) = {info['formula']}\n\n"
                        f"f'(x) = {info['derivative']}; range {info['output_range']}. {info['note']}")
    function.info = info
    function.derivative = derivative
    return function


_INFOS = _core.registered_activations()
for _info in _INFOS:
    globals()[_info["name"]] = _make(_info)


def names():
    """The canonical names of every registered activation, in registry order."""
    return [info["name"] for info in _INFOS]


def info(name):
    """The registry entry of `name` (or one of its aliases) as a dict."""
    for entry in _INFOS:
        if name == entry["name"] or name in entry["aliases"]:
            return entry
    raise KeyError(f"no activation named {name!r}; choices: {', '.join(names())}")


__all__ = names() + ["names", "info"]
