// actlab._core: the C++ side of the Python package (actlab/*.py builds the public API on it).
//
// - Tensors and NumPy arrays share memory where the layout allows: from_numpy adopts a writable
//   array whose strides are whole elements (actlab keeps the array alive), and Tensor.numpy()
//   views the tensor's buffer (the array keeps the tensor alive).
// - The activation registry: every definition's metadata, and activations built from specs.
// - Experiments: the settings, and the same runner entry points `actlab compare` and
//   `actlab diagnose` call. Progress lines go to a Python callable; the GIL is released while
//   training, and a KeyboardInterrupt raised by the callable stops the run as Ctrl-C does.
// - actlab::Error arrives as actlab.Error (a RuntimeError) with actlab's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "actlab/activations/activation.h"
#include "actlab/core/error.h"
#include "actlab/core/tensor.h"
#include "actlab/core/version.h"
#include "actlab/experiment/results.h"
#include "actlab/experiment/runner.h"
#include "actlab/experiment/settings.h"

namespace py = pybind11;

namespace actlab::python {
namespace {

py::dtype numpy_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<std::int64_t>();
    case DType::UInt8: return py::dtype::of<std::uint8_t>();
  }
  fail("numpy(): unknown dtype {}", static_cast<int>(dtype));
}

DType actlab_dtype(const py::dtype& dtype) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  if (kind == 'f' && size == 4) return kFloat32;
  if (kind == 'f' && size == 8) return kFloat64;
  if (kind == 'i' && size == 8) return kInt64;
  if (kind == 'u' && size == 1) return kUInt8;
  fail("from_numpy: arrays of dtype {} have no actlab dtype; use float32, float64, int64 or uint8 (astype)",
       py::str(static_cast<const py::object&>(dtype)).cast<std::string>());
}

// The array's strides in elements, when they are whole non-negative elements.
std::optional<Strides> element_strides(const py::array& array) {
  Strides strides;
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    const py::ssize_t stride = array.strides(d);
    if (stride < 0 || stride % array.itemsize() != 0) return std::nullopt;
    strides.push_back(stride / array.itemsize());
  }
  return strides;
}

Tensor from_numpy(py::array array) {
  const DType dtype = actlab_dtype(array.dtype());
  auto strides = element_strides(array);
  if (!strides || !array.writeable()) {  // actlab may write into what it adopts
    array = py::array::ensure(py::module_::import("numpy").attr("array")(array, py::arg("order") = "C"));
    strides = element_strides(array);
  }
  auto impl = std::make_shared<TensorImpl>();
  std::int64_t extent = array.size() > 0 ? 1 : 0;  // elements from the first to the last one viewed
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    impl->shape.push_back(array.shape(d));
    if (array.size() > 0) extent += (array.shape(d) - 1) * (*strides)[static_cast<std::size_t>(d)];
  }
  impl->strides = *strides;
  impl->dtype = dtype;
  const auto bytes = static_cast<std::size_t>(extent) * element_size(dtype);
  auto* data = static_cast<std::byte*>(array.mutable_data());
  std::shared_ptr<void> owner(array.release().ptr(), [](void* object) {
    const py::gil_scoped_acquire gil;  // the last tensor may go away on any thread
    Py_DECREF(static_cast<PyObject*>(object));
  });
  impl->storage = std::make_shared<Storage>(Storage{adopt_buffer(data, bytes, std::move(owner)), bytes});
  return Tensor(std::move(impl));
}

py::array to_numpy(const Tensor& tensor) {
  const auto itemsize = static_cast<py::ssize_t>(element_size(tensor.dtype()));
  std::vector<py::ssize_t> shape, strides;
  bool broadcast = false;
  for (std::size_t d = 0; d < tensor.shape().size(); ++d) {
    shape.push_back(tensor.shape()[d]);
    strides.push_back(tensor.strides()[d] * itemsize);
    broadcast = broadcast || (tensor.strides()[d] == 0 && tensor.shape()[d] > 1);
  }
  const py::capsule base(new Tensor(tensor.detach()), [](void* view) { delete static_cast<Tensor*>(view); });
  py::array array(numpy_dtype(tensor.dtype()), shape, strides, tensor.raw_data(), base);
  // Writing one element of a broadcast view would write all its copies, as NumPy's broadcast_to.
  if (broadcast) array.attr("flags").attr("writeable") = false;
  return array;
}

py::dict info_dict(const ActivationInfo& info) {
  py::list params;
  for (const auto& p : info.params)
    params.append(py::dict(py::arg("name") = p.name, py::arg("default") = p.default_value, py::arg("doc") = p.doc,
                           py::arg("integer") = p.integer, py::arg("min") = p.min, py::arg("max") = p.max));
  return py::dict(py::arg("name") = info.name, py::arg("aliases") = info.aliases, py::arg("params") = params,
                  py::arg("formula") = info.formula, py::arg("latex") = info.latex,
                  py::arg("derivative") = info.derivative, py::arg("output_range") = info.output_range,
                  py::arg("zero_centred") = info.zero_centred, py::arg("monotonic") = info.monotonic,
                  py::arg("smooth") = info.smooth, py::arg("saturates") = info.saturates,
                  py::arg("learnable") = info.learnable, py::arg("note") = info.note);
}

// Hands each complete line written to it to a Python callable.
class LineSink : public std::streambuf {
 public:
  explicit LineSink(py::object callback) : callback_(std::move(callback)) {}
  ~LineSink() override {
    const py::gil_scoped_acquire gil;
    callback_ = py::object();
  }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    if (traits_type::to_char_type(c) != '\n') {
      line_ += traits_type::to_char_type(c);
      return c;
    }
    const py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!callback_.is_none()) callback_(line_);
    } catch (py::error_already_set& e) {
      // Ctrl-C in a notebook or a terminal: stop at the next step, keeping the finished runs.
      if (e.matches(PyExc_KeyboardInterrupt)) experiment::request_stop();
      else e.discard_as_unraisable("actlab progress callback");
    }
    line_.clear();
    return c;
  }

 private:
  py::object callback_;
  std::string line_;
};

// Runs work(options) without the GIL, with the runner's log lines going to `progress`.
template <typename Work>
auto run_with_progress(const py::object& progress, bool overwrite, Work work) {
  LineSink sink(progress);
  std::ostream log(&sink);
  experiment::RunnerOptions options;
  options.log = &log;
  options.overwrite = overwrite;
  const py::gil_scoped_release no_gil;
  return work(options);
}

py::tuple run_compare(const experiment::Experiment& experiment, const py::object& progress, bool overwrite,
                      bool fall_back_to_spirals) {
  const experiment::Outcome outcome = run_with_progress(progress, overwrite, [&](experiment::RunnerOptions options) {
    options.fall_back_to_spirals = fall_back_to_spirals;
    return experiment::run_experiment(experiment, options);
  });
  return py::make_tuple(experiment::to_json(outcome.summary).dump(), outcome.out_dir, outcome.interrupted);
}

py::tuple run_diagnose(const experiment::Experiment& experiment, bool at_init, const py::object& progress,
                       bool overwrite) {
  const experiment::Diagnosis diagnosis = run_with_progress(
      progress, overwrite, [&](const auto& options) { return experiment::diagnose(experiment, at_init, options); });
  return py::make_tuple(diagnosis.diagnostics.dump(), diagnosis.out_dir);
}

template <typename Op>
void bind_arithmetic(py::class_<Tensor>& tensor, const char* name, const char* reflected, Op op) {
  tensor.def(name, [op](const Tensor& a, const Tensor& b) { return op(a, b); })
      .def(name, [op](const Tensor& a, double b) { return op(a, scalar_tensor(b, a.dtype())); })
      .def(reflected, [op](const Tensor& a, double b) { return op(scalar_tensor(b, a.dtype()), a); });
}

void bind_tensor(py::module_& m) {
  py::class_<Tensor> tensor(m, "Tensor", "An n-dimensional strided view of a shared buffer, with autograd");
  tensor.def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape())); })
      .def_property_readonly("dtype", [](const Tensor& t) { return std::string(dtype_name(t.dtype())); })
      .def_property_readonly("ndim", &Tensor::dim)
      .def_property_readonly("requires_grad", &Tensor::requires_grad)
      .def_property_readonly("grad", [](const Tensor& t) { return t.grad().defined() ? py::cast(t.grad()) : py::none(); })
      .def("requires_grad_", [](Tensor& t, bool enabled) { return t.requires_grad_(enabled); }, py::arg("enabled") = true)
      .def("backward", [](const Tensor& t) { t.backward(); })
      .def("detach", &Tensor::detach)
      .def("sum", [](const Tensor& t) { return t.sum(); })
      .def("mean", [](const Tensor& t) { return t.mean(); })
      .def("item", [](const Tensor& t) { return t.item(); })
      .def("numel", &Tensor::numel)
      .def("numpy", &to_numpy, "A NumPy array viewing this tensor's memory")
      .def(
          "__array__",
          [](const Tensor& t, const py::object& dtype) -> py::object {
            py::object view = to_numpy(t);
            if (dtype.is_none()) return view;
            return view.attr("astype")(dtype);
          },
          py::arg("dtype") = py::none())
      .def("shares_memory_with", &Tensor::shares_storage_with)
      .def("__neg__", [](const Tensor& t) { return -t; })
      .def("__matmul__", [](const Tensor& a, const Tensor& b) { return a.matmul(b); })
      .def("__repr__", &Tensor::to_string);
  bind_arithmetic(tensor, "__add__", "__radd__", [](const Tensor& a, const Tensor& b) { return a + b; });
  bind_arithmetic(tensor, "__sub__", "__rsub__", [](const Tensor& a, const Tensor& b) { return a - b; });
  bind_arithmetic(tensor, "__mul__", "__rmul__", [](const Tensor& a, const Tensor& b) { return a * b; });
  bind_arithmetic(tensor, "__truediv__", "__rtruediv__", [](const Tensor& a, const Tensor& b) { return a / b; });
  m.def("from_numpy", &from_numpy, py::arg("array"));
}

void bind_activations(py::module_& m) {
  py::class_<ActivationFunction>(m, "Activation", "An activation built from a spec, e.g. leaky_relu:0.1")
      .def("__call__", &ActivationFunction::forward, py::arg("x"))
      .def_property_readonly("spec", &ActivationFunction::spec)
      .def_property_readonly("gain", &ActivationFunction::gain)
      .def_property_readonly("info", [](const ActivationFunction& a) { return info_dict(a.info()); })
      .def("__repr__", [](const ActivationFunction& a) { return "actlab.Activation('" + a.spec() + "')"; });
  m.def("make_activation", [](const std::string& spec) { return make_activation(spec); }, py::arg("spec"));
  m.def("registered_activations", [] {
    py::list infos;
    for (const ActivationInfo* info : registered_activations()) infos.append(info_dict(*info));
    return infos;
  });
}

void bind_experiments(py::module_& m) {
  py::class_<experiment::Experiment>(m, "Experiment", "Resolved settings and sweep of an experiment")
      .def("set", [](experiment::Experiment& e, const std::string& key, const std::string& value,
                     const std::string& origin) { experiment::override_setting(e, key, value, origin); })
      .def("get", [](const experiment::Experiment& e, const std::string& key) { return experiment::get_setting(e.base, key); })
      .def("arm_labels", [](const experiment::Experiment& e) {
        std::vector<std::string> labels;
        for (const auto& arm : e.arms()) labels.push_back(arm.label);
        return labels;
      })
      .def("validate", &experiment::validate)
      .def("to_toml", &experiment::to_toml);
  m.def("load_config", &experiment::load_config, py::arg("path"));
  m.def("parse_config", &experiment::parse_config, py::arg("toml_text"), py::arg("source"));
  m.def("diagnose_defaults", &experiment::diagnose_defaults);
  m.def("setting_keys", [] {
    py::list keys;
    for (const auto& k : experiment::setting_keys())
      keys.append(py::dict(py::arg("key") = k.key, py::arg("type") = k.type, py::arg("help") = k.help));
    return keys;
  });
  m.def("run_compare", &run_compare, py::arg("experiment"), py::arg("progress"), py::arg("overwrite"),
        py::arg("fall_back_to_spirals"));
  m.def("run_diagnose", &run_diagnose, py::arg("experiment"), py::arg("at_init"), py::arg("progress"),
        py::arg("overwrite"));
  m.def("diagnosis_text", [](const std::string& json) { return experiment::diagnosis_text(nlohmann::json::parse(json)); });
}

}  // namespace
}  // namespace actlab::python

PYBIND11_MODULE(_core, m) {
  using namespace actlab::python;
  m.doc() = "actlab's C++ core; use the actlab package";
  m.attr("__version__") = std::string(actlab::kVersion);
  py::register_exception<actlab::Error>(m, "Error", PyExc_RuntimeError).attr("__module__") = "actlab";
  bind_tensor(m);
  bind_activations(m);
  bind_experiments(m);
}
