"""Tensors and NumPy arrays: shared memory where the layout allows, copies where it does not."""
import gc

import numpy as np
import pytest

import actlab


def test_from_numpy_shares_the_arrays_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = actlab.from_numpy(a)
    assert t.shape == (2, 3) and t.dtype == "float32"
    a[1, 2] = 100.0  # a write through NumPy is seen by actlab
    assert t.sum().item() == pytest.approx(0 + 1 + 2 + 3 + 4 + 100)
    assert np.shares_memory(t.numpy(), a)


def test_strided_views_are_shared_without_copies():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    view = base[::2, 1::2].T  # non-contiguous, transposed
    t = actlab.from_numpy(view)
    assert t.shape == view.shape
    assert np.shares_memory(t.numpy(), base)
    np.testing.assert_array_equal(t.numpy(), view)
    np.testing.assert_array_equal((t * 2.0).numpy(), view * 2)


def test_layouts_actlab_cannot_view_are_copied():
    a = np.arange(5, dtype=np.float32)
    reversed_view = a[::-1]
    t = actlab.from_numpy(reversed_view)
    assert not np.shares_memory(t.numpy(), a)
    np.testing.assert_array_equal(t.numpy(), reversed_view)
    read_only = np.arange(3, dtype=np.float32)
    read_only.flags.writeable = False
    assert not np.shares_memory(actlab.from_numpy(read_only).numpy(), read_only)


def test_dtypes_map_or_convert():
    assert actlab.from_numpy(np.zeros(2, np.int64)).dtype == "int64"
    assert actlab.from_numpy(np.zeros(2, np.int32)).dtype == "int64"
    assert actlab.from_numpy(np.zeros(2, np.float16)).dtype == "float32"
    flags = np.array([True, False])
    t = actlab.from_numpy(flags)
    assert t.dtype == "uint8" and np.shares_memory(t.numpy(), flags)
    with pytest.raises(TypeError, match="complex"):
        actlab.from_numpy(np.zeros(2, np.complex64))


def test_numpy_view_keeps_the_tensor_alive():
    t = actlab.from_numpy(np.ones((3, 3), np.float32)) * 3.0
    first, second = t.numpy(), t.numpy()
    assert np.shares_memory(first, second)
    del t
    gc.collect()
    np.testing.assert_array_equal(first, np.full((3, 3), 3.0, np.float32))


def test_numpy_functions_take_tensors():
    t = actlab.from_numpy(np.arange(3, dtype=np.float32))
    assert np.asarray(t).dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.add(t, 1), [1, 2, 3])


def test_tensor_keeps_the_array_alive():
    t = actlab.from_numpy(np.arange(4, dtype=np.float32))
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), [0, 1, 2, 3])


def test_autograd_through_numpy_inputs():
    x = actlab.from_numpy(np.array([1.0, 2.0, 3.0])).requires_grad_()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_errors_arrive_with_actlabs_message():
    a = actlab.from_numpy(np.zeros((2, 3), np.float32))
    b = actlab.from_numpy(np.zeros((4, 5), np.float32))
    with pytest.raises(actlab.Error) as raised:
        a @ b
    assert str(raised.value) == "matmul: [2,3] x [4,5]: inner dims differ (3 vs 4)"
    assert issubclass(actlab.Error, RuntimeError)
