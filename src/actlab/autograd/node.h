// A recorded op in the autograd graph, and the helper ops use to record themselves.
//
// An op computes its output, then calls record() with a backward closure written right beside
// the forward code: given the gradient of the output, it returns the gradient of each input.
// Closures must capture inputs/outputs through detach() so that the graph holds no cycles.
//
// record() also notes the version() of every tensor the closure reads (by default all inputs and
// the output; an op that reads fewer names them). backward() throws, naming the op, when one of
// them was modified in place since: the closure would otherwise compute a wrong gradient.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actlab/core/error.h"
#include "actlab/core/tensor.h"

namespace actlab::autograd {

// grads[i] is the gradient for inputs[i]; leave it undefined when needs_grad[i] is false.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const std::vector<bool>& needs_grad)>;

// A tensor's buffer and its version() when the op saved it for backward.
struct SavedVersion {
  static constexpr int kOutput = -1;
  static constexpr int kOther = -2;
  std::weak_ptr<Storage> storage;  // expired: nobody holds the buffer, so nobody changed it
  std::uint64_t version = 0;
  int role = kOther;  // the input index, kOutput, or kOther (a tensor that is neither)
};

struct Node {
  std::string op;                                   // names the op in errors and diagnostics
  std::vector<std::shared_ptr<TensorImpl>> inputs;  // nullptr for inputs that need no grad
  Shape output_shape;
  BackwardFn backward;                              // empty once the graph is freed
  std::vector<GradHook> hooks;                      // run on the output's gradient
  std::vector<SavedVersion> saved;                  // checked before backward runs

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases the graph behind this node iteratively: a recursive chain of destructors would
  // overflow the stack on long graphs (e.g. an RNN unrolled over many steps).
  ~Node();
};

// Attaches a Node to `output` when grad mode is on and some input requires grad; returns output.
// The closure is taken to read every input and the output.
Tensor record(std::string op, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward);
// The same for a closure that reads only `saved` (empty: it reads no tensor, as add or a view).
Tensor record(std::string op, Tensor output, const std::vector<Tensor>& inputs, const std::vector<Tensor>& saved,
              BackwardFn backward);

// Runs backward from `root` with seed gradient `grad` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// Anomaly detection (off by default, per thread): backward() checks every gradient an op
// produces and throws NonFiniteGradient at the first NaN or infinity, naming the op.
void set_anomaly_detection(bool enabled);
bool anomaly_detection();

struct NonFiniteGradient : Error {
  NonFiniteGradient(const std::string& message, std::string op, Tensor grad_output, Tensor input)
      : Error(message), op(std::move(op)), grad_output(std::move(grad_output)), input(std::move(input)) {}
  std::string op;      // the op whose backward produced it
  Tensor grad_output;  // the gradient that op received
  Tensor input;        // the op's input whose gradient is not finite
};

// While alive, every backward() on this thread calls `ready(leaf)` once per leaf it reaches, as
// soon as that leaf's gradient for this backward is complete (every op that uses it is done), in
// the order backward completes them; data-parallel training starts exchanging a gradient there,
// while backward goes on. `ready` runs on the backward thread; an exception it throws ends
// backward. Not nestable: requires no other guard alive on this thread.
class GradientReadyGuard {
 public:
  using Callback = std::function<void(const Tensor& leaf)>;
  explicit GradientReadyGuard(Callback ready);
  ~GradientReadyGuard();
  GradientReadyGuard(const GradientReadyGuard&) = delete;
  GradientReadyGuard& operator=(const GradientReadyGuard&) = delete;

 private:
  Callback ready_;
};

// True when no element of a floating tensor is NaN or infinite (other dtypes: always true).
bool all_finite(const Tensor& t);

}  // namespace actlab::autograd
