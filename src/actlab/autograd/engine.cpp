#include <bit>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"

namespace actlab {
namespace {
thread_local bool grad_mode_enabled = true;
thread_local bool anomaly_detection_enabled = false;
thread_local const std::function<void(const Tensor&)>* gradient_ready = nullptr;
}

bool grad_enabled() { return grad_mode_enabled; }
void set_grad_enabled(bool enabled) { grad_mode_enabled = enabled; }

namespace autograd {

void set_anomaly_detection(bool enabled) { anomaly_detection_enabled = enabled; }
bool anomaly_detection() { return anomaly_detection_enabled; }

namespace {

// A branch-free scan of the exponent bits, so the compiler vectorizes it.
template <typename Bits, typename T>
bool exponents_finite(const T* data, std::int64_t n, Bits exponent) {
  Bits bad = 0;
  for (std::int64_t i = 0; i < n; ++i) bad |= static_cast<Bits>((std::bit_cast<Bits>(data[i]) & exponent) == exponent);
  return bad == 0;
}

}  // namespace

bool all_finite(const Tensor& t) {
  if (!is_floating(t.dtype())) return true;
  const Tensor c = t.contiguous();
  return c.dtype() == kFloat32 ? exponents_finite<std::uint32_t>(c.data<float>(), c.numel(), 0x7f800000u)
                               : exponents_finite<std::uint64_t>(c.data<double>(), c.numel(), 0x7ff0000000000000ull);
}

Node::~Node() {
  std::vector<std::shared_ptr<TensorImpl>> pending = std::move(inputs);
  while (!pending.empty()) {
    std::shared_ptr<TensorImpl> impl = std::move(pending.back());
    pending.pop_back();
    if (impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1) {
      auto& next = impl->grad_fn->inputs;
      std::move(next.begin(), next.end(), std::back_inserter(pending));
      next.clear();
    }
  }
}

namespace {

SavedVersion saved_version(const Tensor& t, const Tensor& output, const std::vector<Tensor>& inputs) {
  SavedVersion saved{t.impl()->storage, t.version()};
  if (t.impl() == output.impl()) saved.role = SavedVersion::kOutput;
  for (std::size_t i = 0; i < inputs.size() && saved.role == SavedVersion::kOther; ++i)
    if (inputs[i].defined() && t.impl() == inputs[i].impl()) saved.role = static_cast<int>(i);
  return saved;
}

std::string describe(const SavedVersion& saved) {
  if (saved.role == SavedVersion::kOutput) return "its output";
  if (saved.role == SavedVersion::kOther) return "a tensor it saved";
  return fmt::format("its input {}", saved.role);
}

// Throws when a tensor the node's backward reads was written in place after the node was recorded.
void check_saved_versions(const Node& node) {
  for (const SavedVersion& saved : node.saved) {
    const std::shared_ptr<Storage> storage = saved.storage.lock();
    ACTLAB_CHECK(storage == nullptr || storage->version == saved.version,
                 "backward: one of the tensors needed by '{}' for its gradient ({}) was modified in place "
                 "(version {} -> {}) after '{}' was recorded, so its gradient would be wrong; call backward() "
                 "before the in-place update, or update a clone() (or use the out-of-place op) instead",
                 node.op, describe(saved), saved.version, storage->version, node.op);
  }
}

// `saved` null: the closure reads every input and the output.
Tensor attach_node(std::string op, Tensor output, const std::vector<Tensor>& inputs, const std::vector<Tensor>* saved,
                   BackwardFn backward) {
  if (!grad_enabled()) return output;
  bool any = false;
  for (const auto& input : inputs) any = any || (input.defined() && input.requires_grad());
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->op = std::move(op);
  node->inputs.reserve(inputs.size());
  for (const auto& input : inputs)
    node->inputs.push_back(input.defined() && input.requires_grad() ? input.impl() : nullptr);
  const std::vector<Tensor>& read = saved != nullptr ? *saved : inputs;
  node->saved.reserve(read.size() + 1);
  for (const auto& t : read)
    if (t.defined()) node->saved.push_back(saved_version(t, output, inputs));
  if (saved == nullptr) node->saved.push_back(saved_version(output, output, inputs));
  node->output_shape = output.shape();
  node->backward = std::move(backward);
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::move(node);
  return output;
}

}  // namespace

Tensor record(std::string op, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  return attach_node(std::move(op), std::move(output), inputs, nullptr, std::move(backward));
}

Tensor record(std::string op, Tensor output, const std::vector<Tensor>& inputs, const std::vector<Tensor>& saved,
              BackwardFn backward) {
  return attach_node(std::move(op), std::move(output), inputs, &saved, std::move(backward));
}

namespace {

Tensor apply_hooks(const std::vector<GradHook>& hooks, Tensor grad) {
  for (const auto& hook : hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
  return grad;
}

// A gradient may alias a tensor the caller still uses (add's backward passes its input
// through); the accumulated .grad() must own its buffer because optimizers update it in place.
Tensor owned(Tensor grad) {
  const bool sole_owner = grad.impl().use_count() == 1 && grad.impl()->storage.use_count() == 1;
  return sole_owner && grad.is_contiguous() ? grad : grad.clone();
}

void accumulate_leaf(const std::shared_ptr<TensorImpl>& leaf, Tensor grad) {
  grad = apply_hooks(leaf->leaf_hooks, std::move(grad));
  if (leaf->grad == nullptr) {
    leaf->grad = owned(std::move(grad)).impl();
  } else {
    Tensor existing(leaf->grad);
    existing.add_(grad);
  }
}

// Counts down the uses of each leaf in one backward and reports the leaf when its last use is done
// (GradientReadyGuard). Inactive, and free, when no guard is alive.
class LeafCountdown {
 public:
  explicit LeafCountdown(const std::vector<Node*>& order) {
    if (gradient_ready == nullptr) return;
    for (const Node* node : order)
      for (const auto& input : node->inputs)
        if (input != nullptr && input->grad_fn == nullptr) ++uses_[input.get()];
  }
  // Every leaf input of `node` has had its use (its gradient accumulated, or none came).
  void done(const Node& node) {
    if (gradient_ready == nullptr) return;
    for (const auto& input : node.inputs)
      if (input != nullptr && input->grad_fn == nullptr && --uses_[input.get()] == 0) (*gradient_ready)(Tensor(input));
  }

 private:
  std::unordered_map<const TensorImpl*, int> uses_;
};

// Nodes reachable from root, each after every node that consumes its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, std::size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const auto& input = node->inputs[next_input++];
      Node* child = input ? input->grad_fn.get() : nullptr;
      if (child != nullptr && visited.insert(child).second) stack.emplace_back(child, 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  ACTLAB_CHECK(root.requires_grad(),
               "backward: this tensor does not require grad (no input was marked requires_grad_(), "
               "or it was computed under NoGradGuard)");
  Tensor seed = grad;
  if (!seed.defined()) {
    ACTLAB_CHECK(root.numel() == 1,
                 "backward: a tensor of shape {} needs an explicit gradient of the same shape "
                 "(only one-element tensors get the implicit gradient 1)",
                 shape_str(root.shape()));
    seed = ones(root.shape(), root.dtype());
  }
  ACTLAB_CHECK(seed.shape() == root.shape(), "backward: gradient shape {} does not match tensor shape {}",
               shape_str(seed.shape()), shape_str(root.shape()));
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_leaf(root.impl(), seed.to(root.dtype()));
    if (gradient_ready != nullptr) (*gradient_ready)(root);
    return;
  }

  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = seed.to(root.dtype());
  const std::vector<Node*> order = topological_order(root.grad_fn().get());
  LeafCountdown leaves(order);
  for (Node* node : order) {
    auto found = grads.find(node);
    if (found == grads.end()) {
      leaves.done(*node);
      continue;
    }
    Tensor grad_output = apply_hooks(node->hooks, std::move(found->second));
    grads.erase(found);
    ACTLAB_CHECK(node->backward != nullptr,
                 "backward: the graph through '{}' was already freed by an earlier backward(); "
                 "pass retain_graph=true to the first backward() to run backward twice",
                 node->op);
    check_saved_versions(*node);
    std::vector<bool> needs_grad(node->inputs.size());
    for (std::size_t i = 0; i < node->inputs.size(); ++i) needs_grad[i] = node->inputs[i] != nullptr;
    std::vector<Tensor> input_grads = node->backward(grad_output, needs_grad);
    if (!retain_graph) node->backward = nullptr;
    if (anomaly_detection_enabled)
      for (std::size_t i = 0; i < input_grads.size() && i < node->inputs.size(); ++i)
        if (input_grads[i].defined() && !all_finite(input_grads[i]))
          throw NonFiniteGradient(fmt::format("backward of '{}' produced a non-finite gradient for its input {}", node->op, i),
                                  node->op, grad_output, Tensor(node->inputs[i]));
    for (std::size_t i = 0; i < node->inputs.size(); ++i) {
      const auto& input = node->inputs[i];
      if (input == nullptr || i >= input_grads.size() || !input_grads[i].defined()) continue;
      Tensor& input_grad = input_grads[i];
      ACTLAB_CHECK(input_grad.shape() == input->shape, "backward of '{}': gradient {} for input {} of shape {}",
                   node->op, shape_str(input_grad.shape()), i, shape_str(input->shape));
      if (input->grad_fn == nullptr) {
        accumulate_leaf(input, std::move(input_grad));
        continue;
      }
      auto [slot, inserted] = grads.try_emplace(input->grad_fn.get(), input_grad);
      if (!inserted) slot->second = slot->second + input_grad;
    }
    leaves.done(*node);
  }
}

GradientReadyGuard::GradientReadyGuard(Callback ready) : ready_(std::move(ready)) {
  ACTLAB_CHECK(gradient_ready == nullptr, "GradientReadyGuard: another guard is alive on this thread");
  gradient_ready = &ready_;
}

GradientReadyGuard::~GradientReadyGuard() { gradient_ready = nullptr; }

}  // namespace autograd

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::run_backward(*this, grad, retain_graph);
}

void Tensor::register_hook(GradHook hook) const {
  ACTLAB_CHECK(requires_grad(), "register_hook: the tensor does not require grad, so no gradient will reach it");
  if (is_leaf())
    impl_->leaf_hooks.push_back(std::move(hook));
  else
    impl_->grad_fn->hooks.push_back(std::move(hook));
}

}  // namespace actlab
