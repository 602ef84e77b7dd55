// RNN, LSTM, GRU: one autograd op per layer and sequence, BPTT written out in its backward.
#include "actlab/nn/recurrent.h"

#include <algorithm>
#include <cmath>

#include "actlab/activations/pointwise.h"
#include "actlab/activations/simd.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"
#include "actlab/nn/init.h"
#include "actlab/ops/gemm.h"

namespace actlab::nn {

namespace {

using Cell = RecurrentBase::Cell;

std::int64_t gate_count(Cell cell) {
  switch (cell) {
    case Cell::rnn: return 1;
    case Cell::lstm: return 4;
    case Cell::gru: return 3;
  }
  return 0;
}

// Sets grad mode for its lifetime.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

std::shared_ptr<ActivationFunction> make_elementwise_activation(const std::string& spec, const std::string& type) {
  std::shared_ptr<ActivationFunction> act = make_activation(spec);
  const ActivationInfo& info = act->info();
  const bool along_dim = std::any_of(info.params.begin(), info.params.end(),
                                     [](const ActivationParam& p) { return p.name == "dim"; });
  ACTLAB_CHECK(!info.learnable && act->named_generators().empty() && !along_dim,
               "{}: activation '{}' must be elementwise, deterministic and without learnable parameters; use "
               "e.g. tanh, relu, elu, gelu", type, spec);
  return act;
}

// f(pre) as a new tensor, without recording.
Tensor activate(ActivationFunction& act, const Tensor& pre) {
  NoGradGuard no_grad;
  return act.forward(pre);
}

// f'(pre) elementwise, given post = f(pre): from post for tanh and sigmoid, else through the
// activation's own backward (a vector-Jacobian product with ones is f' for an elementwise f).
Tensor derivative(ActivationFunction& act, const Tensor& pre, const Tensor& post) {
  const std::string& name = act.info().name;
  if (name == "tanh" || name == "sigmoid") {
    NoGradGuard no_grad;
    return name == "tanh" ? 1.0 - post * post : post * (1.0 - post);
  }
  GradModeGuard grad_on(true);
  Tensor leaf = pre.detach().clone().requires_grad_();
  const Tensor y = act.forward(leaf);
  y.backward(ones_like(y));
  return leaf.grad();
}

struct LayerShape {
  Cell cell;
  std::int64_t steps, batch, input, hidden;
  bool bias;
  std::int64_t gates() const { return gate_count(cell) * hidden; }
};

// What backward needs of one layer's forward, all [T, B, .] contiguous.
struct Tape {
  LayerShape shape;
  Tensor x;            // [T, B, I]
  Tensor w_ih, w_hh;   // [GH, I], [GH, H]
  Tensor states;       // h_0..h_T: [T + 1, B, H]
  Tensor cells;        // LSTM: c_0..c_T
  Tensor gates;        // sigmoid gates, [T, B, GH] (LSTM i, f, -, o; GRU r, z, -)
  Tensor candidate;    // act(pre): RNN h, LSTM g, GRU n
  Tensor candidate_d;  // act'(pre)
  Tensor cell_out;     // LSTM: act(c_t)
  Tensor cell_out_d;   // LSTM: act'(c_t)
  Tensor hidden_n;     // GRU: W_hn h + b_hn
};

// Copies `bias` ([cols]) into every row of `out`, or zeros it without bias; returns GEMM's beta.
template <typename T>
T init_rows_with_bias(const Tensor& bias, T* out, std::int64_t rows, std::int64_t cols) {
  if (!bias.defined()) return T(0);
  const T* b = bias.data<T>();
  for (std::int64_t r = 0; r < rows; ++r) std::copy_n(b, cols, out + r * cols);
  return T(1);
}

// Runs the layer's forward on `tape` (x, weights, states[0] and cells[0] filled in).
template <typename T>
void forward_layer(Tape& tape, const Tensor& b_ih, const Tensor& b_hh, ActivationFunction& act, bool keep_derivatives) {
  const LayerShape& s = tape.shape;
  const std::int64_t steps = s.steps, batch = s.batch, hidden = s.hidden, gh = s.gates(), rows = steps * batch;
  Tensor projected = Tensor::empty({steps, batch, gh}, tape.x.dtype());
  T* xw = projected.data<T>();
  ops::gemm<T>(false, true, rows, gh, s.input, T(1), tape.x.data<T>(), s.input, tape.w_ih.data<T>(), s.input,
               init_rows_with_bias<T>(b_ih, xw, rows, gh), xw, gh);
  Tensor recurrent = Tensor::empty({batch, gh}, tape.x.dtype());
  Tensor pre = Tensor::empty({steps, batch, hidden}, tape.x.dtype());
  tape.candidate = Tensor::empty({steps, batch, hidden}, tape.x.dtype());
  T* rec = recurrent.data<T>();
  T* gate = tape.gates.defined() ? tape.gates.data<T>() : nullptr;
  const std::int64_t step_size = batch * hidden;
  const bool inline_tanh = act.info().name == "tanh";
  // act over n contiguous elements: inline for tanh, else through the activation on a tensor.
  const auto apply = [&](const Tensor& pre_rows, T* out, std::int64_t n) {
    if (inline_tanh) {
      activations::map_elements(n, out, [](auto v) { return simd::tanh(v); }, pre_rows.data<T>());
      return;
    }
    std::copy_n(activate(act, pre_rows).contiguous().data<T>(), n, out);
  };
  const auto sigmoid_gate = [&](const T* xw_t, T* gate_t, std::int64_t gate_index) {
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t at = b * gh + gate_index * hidden;
      activations::map_elements(
          hidden, gate_t + at, [](auto x, auto r) { return simd::sigmoid(x + r); }, xw_t + at, rec + at);
    }
  };
  const auto add = [](auto x, auto r) { return x + r; };
  for (std::int64_t t = 0; t < steps; ++t) {
    const T* h_prev = tape.states.data<T>() + t * step_size;
    T* h = tape.states.data<T>() + (t + 1) * step_size;
    ops::gemm<T>(false, true, batch, gh, hidden, T(1), h_prev, hidden, tape.w_hh.data<T>(), hidden,
                 init_rows_with_bias<T>(b_hh, rec, batch, gh), rec, gh);
    const T* xw_t = xw + t * batch * gh;
    T* gate_t = gate ? gate + t * batch * gh : nullptr;
    T* pre_t = pre.data<T>() + t * step_size;
    // The candidate's pre-activation (RNN: the only one) from gate slot 0 (RNN), 2 (LSTM g, GRU n).
    const std::int64_t slot = s.cell == Cell::rnn ? 0 : 2;
    if (s.cell == Cell::lstm)
      for (const std::int64_t g : {0, 1, 3}) sigmoid_gate(xw_t, gate_t, g);
    if (s.cell == Cell::gru)
      for (const std::int64_t g : {0, 1}) sigmoid_gate(xw_t, gate_t, g);
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t at = b * gh + slot * hidden;
      if (s.cell == Cell::gru) {
        std::copy_n(rec + at, hidden, tape.hidden_n.data<T>() + t * step_size + b * hidden);
        activations::map_elements(
            hidden, pre_t + b * hidden, [](auto x, auto r, auto hn) { return x + r * hn; }, xw_t + at,
            gate_t + b * gh, rec + at);
      } else {
        activations::map_elements(hidden, pre_t + b * hidden, add, xw_t + at, rec + at);
      }
    }
    T* cand = tape.candidate.data<T>() + t * step_size;
    apply(pre.select(0, t), cand, step_size);
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t k = b * hidden, row = b * gh;
      if (s.cell == Cell::lstm) {
        T* c = tape.cells.data<T>() + (t + 1) * step_size + k;
        activations::map_elements(
            hidden, c, [](auto i, auto f, auto g, auto c_prev) { return f * c_prev + i * g; }, gate_t + row,
            gate_t + row + hidden, cand + k, c - step_size);
      } else if (s.cell == Cell::gru) {
        activations::map_elements(
            hidden, h + k, [](auto z, auto n, auto hp) { return n + z * (hp - n); }, gate_t + row + hidden,
            cand + k, h_prev + k);
      }
    }
    if (s.cell == Cell::lstm) {
      T* cell_out = tape.cell_out.data<T>() + t * step_size;
      apply(tape.cells.select(0, t + 1), cell_out, step_size);
      for (std::int64_t b = 0; b < batch; ++b)
        activations::map_elements(
            hidden, h + b * hidden, [](auto o, auto tc) { return o * tc; }, gate_t + b * gh + 3 * hidden,
            cell_out + b * hidden);
    } else if (s.cell == Cell::rnn) {
      std::copy_n(cand, step_size, h);
    }
  }
  if (!keep_derivatives) return;
  tape.candidate_d = derivative(act, pre, tape.candidate).contiguous();
  if (s.cell == Cell::lstm)
    tape.cell_out_d = derivative(act, tape.cells.narrow(0, 1, steps), tape.cell_out).contiguous();
}

// One step of BPTT at time t: from dh (the gradient reaching h_t from later steps) and dc (LSTM:
// reaching c_t), the gates' pre-activation gradients on the input side `di` and the recurrent side
// `dr` (GRU; the same buffer otherwise); leaves in dh the part of h_{t-1}'s gradient that does not
// pass through W_hh, and in dc c_{t-1}'s.
template <Cell kCell, typename T>
void bptt_step(const Tape& tape, std::int64_t t, const T* grad_out, T* dh, T* dc, T* di, T* dr) {
  const LayerShape& s = tape.shape;
  const std::int64_t batch = s.batch, hidden = s.hidden, gh = s.gates(), at_t = t * batch * hidden;
  const T* gy = grad_out + at_t;
  const T* cand = tape.candidate.data<T>() + at_t;
  const T* cand_d = tape.candidate_d.data<T>() + at_t;
  const T* gate_t = kCell == Cell::rnn ? nullptr : tape.gates.data<T>() + t * batch * gh;
  const T* cell_out = kCell == Cell::lstm ? tape.cell_out.data<T>() + at_t : nullptr;
  const T* cell_out_d = kCell == Cell::lstm ? tape.cell_out_d.data<T>() + at_t : nullptr;
  const T* c_prev = kCell == Cell::lstm ? tape.cells.data<T>() + at_t : nullptr;
  const T* h_prev = tape.states.data<T>() + at_t;
  const T* hidden_n = kCell == Cell::gru ? tape.hidden_n.data<T>() + at_t : nullptr;
  for (std::int64_t b = 0; b < batch; ++b) {
    T* d = di + b * gh;
    T* d_rec = dr + b * gh;
    const T* gate = kCell == Cell::rnn ? nullptr : gate_t + b * gh;
    for (std::int64_t j = 0; j < hidden; ++j) {
      const std::int64_t k = b * hidden + j;
      const T dh_k = dh[k] + gy[k];
      if constexpr (kCell == Cell::rnn) {
        d[j] = dh_k * cand_d[k];
        dh[k] = T(0);
      } else if constexpr (kCell == Cell::lstm) {
        const T i = gate[j], f = gate[hidden + j], o = gate[3 * hidden + j];
        const T dc_k = dc[k] + dh_k * o * cell_out_d[k];
        d[j] = dc_k * cand[k] * i * (T(1) - i);
        d[hidden + j] = dc_k * c_prev[k] * f * (T(1) - f);
        d[2 * hidden + j] = dc_k * i * cand_d[k];
        d[3 * hidden + j] = dh_k * cell_out[k] * o * (T(1) - o);
        dc[k] = dc_k * f;
        dh[k] = T(0);
      } else {
        const T r = gate[j], z = gate[hidden + j];
        const T dn = dh_k * (T(1) - z) * cand_d[k];
        const T dz = dh_k * (h_prev[k] - cand[k]) * z * (T(1) - z);
        const T d_reset = dn * hidden_n[k] * r * (T(1) - r);
        d[j] = d_rec[j] = d_reset;
        d[hidden + j] = d_rec[hidden + j] = dz;
        d[2 * hidden + j] = dn;
        d_rec[2 * hidden + j] = dn * r;
        dh[k] = dh_k * z;
      }
    }
  }
}

// BPTT: gradients of {x, h0, c0, w_ih, w_hh, b_ih, b_hh} given that of the packed output.
template <typename T>
std::vector<Tensor> backward_layer(const Tape& tape, const Tensor& grad_packed, const std::vector<bool>& needs) {
  const LayerShape& s = tape.shape;
  const std::int64_t steps = s.steps, batch = s.batch, hidden = s.hidden, gh = s.gates(), rows = steps * batch;
  const std::int64_t step_size = batch * hidden;
  const DType dtype = tape.x.dtype();
  const Tensor g = grad_packed.to(dtype).contiguous();
  const T* gy = g.data<T>();
  // Gradients of the gates' pre-activations: input side, and recurrent side where it differs (GRU).
  Tensor d_input = Tensor::empty({steps, batch, gh}, dtype);
  Tensor d_recurrent = s.cell == Cell::gru ? Tensor::empty({steps, batch, gh}, dtype) : d_input;
  Tensor dh = zeros({batch, hidden}, dtype);
  Tensor dc = zeros({batch, hidden}, dtype);
  T* dh_p = dh.data<T>();
  T* dc_p = dc.data<T>();
  if (s.cell == Cell::lstm) std::copy_n(gy + steps * step_size, step_size, dc_p);
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    T* di = d_input.data<T>() + t * batch * gh;
    T* dr = d_recurrent.data<T>() + t * batch * gh;
    switch (s.cell) {
      case Cell::rnn: bptt_step<Cell::rnn, T>(tape, t, gy, dh_p, dc_p, di, dr); break;
      case Cell::lstm: bptt_step<Cell::lstm, T>(tape, t, gy, dh_p, dc_p, di, dr); break;
      case Cell::gru: bptt_step<Cell::gru, T>(tape, t, gy, dh_p, dc_p, di, dr); break;
    }
    ops::gemm<T>(false, false, batch, hidden, gh, T(1), dr, gh, tape.w_hh.data<T>(), hidden,
                 s.cell == Cell::gru ? T(1) : T(0), dh_p, hidden);
  }
  std::vector<Tensor> grads(7);
  if (needs[0]) {
    grads[0] = Tensor::empty({steps, batch, s.input}, dtype);
    ops::gemm<T>(false, false, rows, s.input, gh, T(1), d_input.data<T>(), gh, tape.w_ih.data<T>(), s.input, T(0),
                 grads[0].data<T>(), s.input);
  }
  if (needs[1]) grads[1] = dh;
  if (needs[2]) grads[2] = dc;
  if (needs[3]) {
    grads[3] = Tensor::empty({gh, s.input}, dtype);
    ops::gemm<T>(true, false, gh, s.input, rows, T(1), d_input.data<T>(), gh, tape.x.data<T>(), s.input, T(0),
                 grads[3].data<T>(), s.input);
  }
  if (needs[4]) {
    grads[4] = Tensor::empty({gh, hidden}, dtype);
    ops::gemm<T>(true, false, gh, hidden, rows, T(1), d_recurrent.data<T>(), gh, tape.states.data<T>(), hidden, T(0),
                 grads[4].data<T>(), hidden);
  }
  if (needs[5]) grads[5] = d_input.reshape({rows, gh}).sum({0});
  if (needs[6]) grads[6] = d_recurrent.reshape({rows, gh}).sum({0});
  return grads;
}

// One layer over the whole sequence, recorded as one op. x [T, B, I]; h0, c0 [B, H] or undefined
// (zeros). Returns h_1..h_T as [T, B, H], for LSTM followed by c_T: [T + 1, B, H].
Tensor recurrent_layer(Cell cell, const std::shared_ptr<ActivationFunction>& act, const Tensor& x, const Tensor& h0,
                       const Tensor& c0, const RecurrentBase::LayerWeights& w) {
  const DType dtype = x.dtype();
  Tape tape;
  tape.shape = {cell, x.size(0), x.size(1), x.size(2), w.weight_hh.size(1), w.bias_ih.defined()};
  const LayerShape& s = tape.shape;
  tape.x = x.detach().contiguous();
  tape.w_ih = w.weight_ih.detach().contiguous();
  tape.w_hh = w.weight_hh.detach().contiguous();
  const Tensor b_ih = s.bias ? w.bias_ih.detach().contiguous() : Tensor();
  const Tensor b_hh = s.bias ? w.bias_hh.detach().contiguous() : Tensor();
  const auto with_initial = [&](const Tensor& initial) {
    Tensor all = zeros({s.steps + 1, s.batch, s.hidden}, dtype);
    if (initial.defined()) all.select(0, 0).copy_(initial.detach());
    return all;
  };
  tape.states = with_initial(h0);
  if (cell != Cell::rnn) tape.gates = Tensor::empty({s.steps, s.batch, s.gates()}, dtype);
  if (cell == Cell::lstm) {
    tape.cells = with_initial(c0);
    tape.cell_out = Tensor::empty({s.steps, s.batch, s.hidden}, dtype);
  }
  if (cell == Cell::gru) tape.hidden_n = Tensor::empty({s.steps, s.batch, s.hidden}, dtype);
  const std::vector<Tensor> inputs{x, h0, c0, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh};
  const bool recording =
      grad_enabled() && std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) {
        return t.defined() && t.requires_grad();
      });
  dispatch_floating(dtype, "recurrent layer",
                    [&]<typename T>() { forward_layer<T>(tape, b_ih, b_hh, *act, recording); });
  const Tensor hs = tape.states.narrow(0, 1, s.steps);
  const Tensor packed = cell == Cell::lstm ? cat({hs, tape.cells.narrow(0, s.steps, 1)}, 0) : hs.clone();
  if (!recording) return packed;
  static constexpr const char* kOpName[] = {"rnn", "lstm", "gru"};
  return autograd::record(kOpName[static_cast<int>(cell)], packed, inputs,
                          [tape = std::move(tape)](const Tensor& grad, const std::vector<bool>& needs) {
                            return dispatch_floating(grad.dtype(), "recurrent layer backward", [&]<typename T>() {
                              return backward_layer<T>(tape, grad, needs);
                            });
                          });
}

}  // namespace

RecurrentBase::RecurrentBase(std::string type_name, Cell cell, std::int64_t input_size_, std::int64_t hidden_size_,
                             std::int64_t num_layers_, bool bias_, bool batch_first_, const std::string& activation,
                             Generator& gen)
    : Module(type_name),
      input_size(input_size_),
      hidden_size(hidden_size_),
      num_layers(num_layers_),
      bias(bias_),
      batch_first(batch_first_),
      cell_(cell),
      activation_(make_elementwise_activation(activation, type_name)) {
  ACTLAB_CHECK(input_size > 0 && hidden_size > 0 && num_layers > 0,
               "{}: input_size, hidden_size and num_layers must be positive, got {}, {} and {}", type_name,
               input_size, hidden_size, num_layers);
  const std::int64_t gh = gate_count(cell) * hidden_size;
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const auto add = [&](const std::string& name, const Shape& shape) {
    Tensor p = register_parameter(name, empty(shape));
    init::uniform_(p, -bound, bound, gen);
    return p;
  };
  for (std::int64_t l = 0; l < num_layers; ++l) {
    const std::string suffix = fmt::format("_l{}", l);
    LayerWeights w;
    w.weight_ih = add("weight_ih" + suffix, {gh, l == 0 ? input_size : hidden_size});
    w.weight_hh = add("weight_hh" + suffix, {gh, hidden_size});
    if (bias) {
      w.bias_ih = add("bias_ih" + suffix, {gh});
      w.bias_hh = add("bias_hh" + suffix, {gh});
    }
    layers.push_back(w);
  }
}

std::string RecurrentBase::extra_repr() const {
  return fmt::format("{}, {}, num_layers={}, {}{}{}", input_size, hidden_size, num_layers, activation_->spec(),
                     bias ? "" : ", no bias", batch_first ? ", batch_first" : "");
}

std::tuple<Tensor, Tensor, Tensor> RecurrentBase::run(const Tensor& input, const std::optional<Tensor>& h0,
                                                      const std::optional<Tensor>& c0) {
  const std::string& type = type_name();
  ACTLAB_CHECK(input.dim() == 3 && input.size(2) == input_size,
               "{}: input must be [{}, {}, input_size = {}], got shape {}", type, batch_first ? "B" : "T",
               batch_first ? "T" : "B", input_size, shape_str(input.shape()));
  ACTLAB_CHECK(input.dtype() == layers[0].weight_ih.dtype(),
               "{}: input is {} but the parameters are {}; convert the module with to() or the input with .to()",
               type, input.dtype(), layers[0].weight_ih.dtype());
  const Tensor x = batch_first ? input.transpose(0, 1) : input;
  const std::int64_t steps = x.size(0), batch = x.size(1);
  ACTLAB_CHECK(steps > 0, "{}: the sequence is empty (input shape {}); give at least one time step", type,
               shape_str(input.shape()));
  const Shape state_shape{num_layers, batch, hidden_size};
  for (const auto* state : {&h0, &c0})
    ACTLAB_CHECK(!*state || ((*state)->shape() == state_shape && (*state)->dtype() == input.dtype()),
                 "{}: an initial state must be {} [num_layers, B, hidden_size] = {}, got {} {}", type, input.dtype(),
                 shape_str(state_shape), (*state)->dtype(), shape_str((*state)->shape()));
  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (std::int64_t l = 0; l < num_layers; ++l) {
    const Tensor h0_l = h0 ? h0->select(0, l) : Tensor();
    const Tensor c0_l = c0 ? c0->select(0, l) : Tensor();
    const Tensor packed = recurrent_layer(cell_, activation_, layer_input, h0_l, c0_l, layers[l]);
    layer_input = cell_ == Cell::lstm ? packed.narrow(0, 0, steps) : packed;
    h_n.push_back(layer_input.select(0, steps - 1));
    if (cell_ == Cell::lstm) c_n.push_back(packed.select(0, steps));
  }
  const Tensor output = batch_first ? layer_input.transpose(0, 1) : layer_input;
  return {output, stack(h_n, 0), cell_ == Cell::lstm ? stack(c_n, 0) : Tensor()};
}

RNN::RNN(const RNNOptions& o, Generator& gen)
    : RecurrentBase("RNN", Cell::rnn, o.input_size, o.hidden_size, o.num_layers, o.bias, o.batch_first,
                    o.nonlinearity, gen) {}

std::tuple<Tensor, Tensor> RNN::forward(const Tensor& input, const std::optional<Tensor>& h0) {
  auto [output, h_n, unused] = run(input, h0, std::nullopt);
  return {output, h_n};
}

LSTM::LSTM(const LSTMOptions& o, Generator& gen)
    : RecurrentBase("LSTM", Cell::lstm, o.input_size, o.hidden_size, o.num_layers, o.bias, o.batch_first,
                    o.activation, gen) {}

std::tuple<Tensor, LSTM::State> LSTM::forward(const Tensor& input, const std::optional<State>& state) {
  std::optional<Tensor> h0, c0;
  if (state) {
    h0 = std::get<0>(*state);
    c0 = std::get<1>(*state);
  }
  auto [output, h_n, c_n] = run(input, h0, c0);
  return {output, State{h_n, c_n}};
}

GRU::GRU(const GRUOptions& o, Generator& gen)
    : RecurrentBase("GRU", Cell::gru, o.input_size, o.hidden_size, o.num_layers, o.bias, o.batch_first,
                    o.activation, gen) {}

std::tuple<Tensor, Tensor> GRU::forward(const Tensor& input, const std::optional<Tensor>& h0) {
  auto [output, h_n, unused] = run(input, h0, std::nullopt);
  return {output, h_n};
}

}  // namespace actlab::nn
