// RNN, LSTM, GRU: one autograd op per layer and sequence, BPTT written out in its backward. The
// elementwise work of a time step (the gates, the cell update, one BPTT step) is compiled once per
// instruction-set level (core/cpu.h); the rest, below ACTLAB_KERNELS_ONLY, once.
#include "actlab/nn/recurrent.h"

#include <algorithm>
#include <cmath>

#include "actlab/activations/pointwise.h"
#include "actlab/activations/simd.h"
#include "actlab/core/cpu.h"

namespace actlab::nn {

using Cell = RecurrentBase::Cell;

// One time step's arrays for the per-level kernels. Rows are the batch's samples: a gate row holds
// the cell's slots of `hidden` each (LSTM i, f, g, o; GRU r, z, n; RNN one), a state row `hidden`.
// Pointers a cell does not use are null.
template <typename T>
struct StepArrays {
  std::int64_t batch, hidden;
  const T* input_part;      // W_ih x_t + b_ih, [B, GH]
  const T* recurrent_part;  // W_hh h_{t-1} + b_hh, [B, GH]
  const T* h_prev;          // h_{t-1}, [B, H]
  const T* c_prev;          // LSTM: c_{t-1}
  T* gates;                 // the sigmoid gates, in their slots of [B, GH]
  T* pre;                   // the candidate's pre-activation, [B, H] (not written when tanh is inline)
  T* hidden_n;              // GRU: W_hn h + b_hn, kept for backward
  T* candidate;             // act(pre): RNN h, LSTM g, GRU n
  T* candidate_d;           // act'(pre), written only with inline tanh and when not null
  T* c;                     // LSTM: c_t
  T* cell_out;              // LSTM: act(c_t)
  T* cell_out_d;            // LSTM: act'(c_t), as candidate_d
  T* h;                     // h_t
};

// What one BPTT step reads and writes (see bptt_step).
template <typename T>
struct StepGradients {
  std::int64_t batch, hidden;
  const T* grad_h;  // dL/dh_t from the layer's output, [B, H]
  const T* gates;
  const T* candidate;
  const T* candidate_d;
  const T* cell_out;
  const T* cell_out_d;
  const T* c_prev;
  const T* h_prev;
  const T* hidden_n;
  T* dh;           // in: h_t's gradient from later steps; out: h_{t-1}'s part not through W_hh
  T* dc;           // LSTM: in c_t's gradient, out c_{t-1}'s
  T* d_input;      // the gates' pre-activation gradients on the input side, [B, GH]
  T* d_recurrent;  // on the recurrent side (GRU; the same as d_input otherwise)
};

// step_begin: the sigmoid gates and the candidate's pre-activation, or with `tanh_inline` the
// candidate itself (and its derivative). step_finish: after the candidate, the LSTM's c_t (with
// `tanh_inline` also act(c_t) and h_t), the GRU's and the RNN's h_t. lstm_output: h_t = o act(c_t).
// bptt_step: one step of BPTT at time t.
#define ACTLAB_DECLARE_RECURRENT_KERNELS(level)                                     \
  namespace level {                                                                 \
  template <typename T>                                                             \
  void step_begin(Cell cell, const StepArrays<T>& s, bool tanh_inline);             \
  template <typename T>                                                             \
  void step_finish(Cell cell, const StepArrays<T>& s, bool tanh_inline);            \
  template <typename T>                                                             \
  void lstm_output(const StepArrays<T>& s);                                         \
  template <typename T>                                                             \
  void bptt_step(Cell cell, const StepGradients<T>& s);                             \
  }
ACTLAB_DECLARE_RECURRENT_KERNELS(avx512)
ACTLAB_DECLARE_RECURRENT_KERNELS(avx2)
ACTLAB_DECLARE_RECURRENT_KERNELS(baseline)
#undef ACTLAB_DECLARE_RECURRENT_KERNELS

namespace {

std::int64_t gate_count(Cell cell) {
  switch (cell) {
    case Cell::rnn: return 1;
    case Cell::lstm: return 4;
    case Cell::gru: return 3;
  }
  return 0;
}

// fn(i, remaining) for each block of V's lanes over n elements, in V blocks for float unless
// reference kernels are on (then one element at a time, as every activation's reference loop).
template <typename T, class Fn>
void in_blocks(std::int64_t n, Fn fn) {
  activations::with_vector_type<T>(!reference_kernels_enabled(), [&]<class V>() {
    for (std::int64_t i = 0; i < n; i += simd::lanes<V>)
      fn.template operator()<V>(i, std::min<std::int64_t>(simd::lanes<V>, n - i));
  });
}

template <Cell kCell, typename T>
void begin_rows(const StepArrays<T>& s, bool tanh_inline) {
  const std::int64_t hidden = s.hidden, gh = gate_count(kCell) * hidden;
  for (std::int64_t b = 0; b < s.batch; ++b) {
    const T* in = s.input_part + b * gh;
    const T* rec = s.recurrent_part + b * gh;
    T* gate = s.gates + b * gh;
    const std::int64_t row = b * hidden;
    in_blocks<T>(hidden, [&]<class V>(std::int64_t j, std::int64_t r) {
      const auto sum = [&](std::int64_t slot) {
        return simd::load_n<V>(in + slot * hidden + j, r) + simd::load_n<V>(rec + slot * hidden + j, r);
      };
      const auto sigmoid_gate = [&](std::int64_t slot) {
        const V value = simd::sigmoid(sum(slot));
        simd::store_n(gate + slot * hidden + j, value, r);
        return value;
      };
      V pre;
      if constexpr (kCell == Cell::lstm) {
        for (const std::int64_t slot : {0, 1, 3}) sigmoid_gate(slot);
        pre = sum(2);
      } else if constexpr (kCell == Cell::gru) {
        const V reset = sigmoid_gate(0);
        sigmoid_gate(1);
        const V hidden_n = simd::load_n<V>(rec + 2 * hidden + j, r);
        simd::store_n(s.hidden_n + row + j, hidden_n, r);
        pre = simd::load_n<V>(in + 2 * hidden + j, r) + reset * hidden_n;
      } else {
        pre = sum(0);
      }
      if (!tanh_inline) {
        simd::store_n(s.pre + row + j, pre, r);
        return;
      }
      const V candidate = simd::tanh(pre);
      simd::store_n(s.candidate + row + j, candidate, r);
      if (s.candidate_d) simd::store_n(s.candidate_d + row + j, V(1) - candidate * candidate, r);
    });
  }
}

template <Cell kCell, typename T>
void finish_rows(const StepArrays<T>& s, bool tanh_inline) {
  const std::int64_t hidden = s.hidden, gh = gate_count(kCell) * hidden;
  for (std::int64_t b = 0; b < s.batch; ++b) {
    const T* gate = s.gates + b * gh;
    const std::int64_t row = b * hidden;
    in_blocks<T>(hidden, [&]<class V>(std::int64_t j, std::int64_t r) {
      const V candidate = simd::load_n<V>(s.candidate + row + j, r);
      if constexpr (kCell == Cell::lstm) {
        const V c = simd::load_n<V>(gate + hidden + j, r) * simd::load_n<V>(s.c_prev + row + j, r) +
                    simd::load_n<V>(gate + j, r) * candidate;
        simd::store_n(s.c + row + j, c, r);
        if (!tanh_inline) return;
        const V cell_out = simd::tanh(c);
        simd::store_n(s.cell_out + row + j, cell_out, r);
        if (s.cell_out_d) simd::store_n(s.cell_out_d + row + j, V(1) - cell_out * cell_out, r);
        simd::store_n(s.h + row + j, simd::load_n<V>(gate + 3 * hidden + j, r) * cell_out, r);
      } else if constexpr (kCell == Cell::gru) {
        const V z = simd::load_n<V>(gate + hidden + j, r), h_prev = simd::load_n<V>(s.h_prev + row + j, r);
        simd::store_n(s.h + row + j, candidate + z * (h_prev - candidate), r);
      } else {
        simd::store_n(s.h + row + j, candidate, r);
      }
    });
  }
}

template <Cell kCell, typename T>
void bptt_rows(const StepGradients<T>& s) {
  const std::int64_t hidden = s.hidden, gh = gate_count(kCell) * hidden;
  for (std::int64_t b = 0; b < s.batch; ++b) {
    T* d = s.d_input + b * gh;
    T* d_rec = s.d_recurrent + b * gh;
    const T* gate = kCell == Cell::rnn ? nullptr : s.gates + b * gh;
    const std::int64_t row = b * hidden;
    const T *gy = s.grad_h + row, *cand = s.candidate + row, *cand_d = s.candidate_d + row;
    T *dh = s.dh + row, *dc = kCell == Cell::lstm ? s.dc + row : nullptr;
#pragma omp simd
    for (std::int64_t j = 0; j < hidden; ++j) {
      const T dh_j = dh[j] + gy[j];
      if constexpr (kCell == Cell::rnn) {
        d[j] = dh_j * cand_d[j];
        dh[j] = T(0);
      } else if constexpr (kCell == Cell::lstm) {
        const T i = gate[j], f = gate[hidden + j], o = gate[3 * hidden + j];
        const T dc_j = dc[j] + dh_j * o * s.cell_out_d[row + j];
        d[j] = dc_j * cand[j] * i * (T(1) - i);
        d[hidden + j] = dc_j * s.c_prev[row + j] * f * (T(1) - f);
        d[2 * hidden + j] = dc_j * i * cand_d[j];
        d[3 * hidden + j] = dh_j * s.cell_out[row + j] * o * (T(1) - o);
        dc[j] = dc_j * f;
        dh[j] = T(0);
      } else {
        const T r = gate[j], z = gate[hidden + j];
        const T dn = dh_j * (T(1) - z) * cand_d[j];
        const T dz = dh_j * (s.h_prev[row + j] - cand[j]) * z * (T(1) - z);
        const T d_reset = dn * s.hidden_n[row + j] * r * (T(1) - r);
        d[j] = d_rec[j] = d_reset;
        d[hidden + j] = d_rec[hidden + j] = dz;
        d[2 * hidden + j] = dn;
        d_rec[2 * hidden + j] = dn * r;
        dh[j] = dh_j * z;
      }
    }
  }
}

// fn.template operator()<cell>() for the runtime `cell`.
template <class Fn>
void with_cell(Cell cell, Fn fn) {
  switch (cell) {
    case Cell::rnn: return fn.template operator()<Cell::rnn>();
    case Cell::lstm: return fn.template operator()<Cell::lstm>();
    case Cell::gru: return fn.template operator()<Cell::gru>();
  }
}

}  // namespace

template <typename T>
void ACTLAB_ISA::step_begin(Cell cell, const StepArrays<T>& s, bool tanh_inline) {
  with_cell(cell, [&]<Cell kCell>() { begin_rows<kCell>(s, tanh_inline); });
}
template <typename T>
void ACTLAB_ISA::step_finish(Cell cell, const StepArrays<T>& s, bool tanh_inline) {
  with_cell(cell, [&]<Cell kCell>() { finish_rows<kCell>(s, tanh_inline); });
}
template <typename T>
void ACTLAB_ISA::lstm_output(const StepArrays<T>& s) {
  const std::int64_t hidden = s.hidden, gh = 4 * hidden;
  for (std::int64_t b = 0; b < s.batch; ++b)
    in_blocks<T>(hidden, [&]<class V>(std::int64_t j, std::int64_t r) {
      const std::int64_t at = b * hidden + j;
      simd::store_n(s.h + at, simd::load_n<V>(s.gates + b * gh + 3 * hidden + j, r) * simd::load_n<V>(s.cell_out + at, r),
                    r);
    });
}
template <typename T>
void ACTLAB_ISA::bptt_step(Cell cell, const StepGradients<T>& s) {
  with_cell(cell, [&]<Cell kCell>() { bptt_rows<kCell>(s); });
}
#define ACTLAB_INSTANTIATE_RECURRENT_KERNELS(T)                                          \
  template void ACTLAB_ISA::step_begin<T>(Cell, const StepArrays<T>&, bool);           \
  template void ACTLAB_ISA::step_finish<T>(Cell, const StepArrays<T>&, bool);          \
  template void ACTLAB_ISA::lstm_output<T>(const StepArrays<T>&);                      \
  template void ACTLAB_ISA::bptt_step<T>(Cell, const StepGradients<T>&);
ACTLAB_INSTANTIATE_RECURRENT_KERNELS(float)
ACTLAB_INSTANTIATE_RECURRENT_KERNELS(double)
#undef ACTLAB_INSTANTIATE_RECURRENT_KERNELS

}  // namespace actlab::nn

#if !ACTLAB_KERNELS_ONLY
#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"
#include "actlab/nn/init.h"
#include "actlab/ops/gemm.h"

namespace actlab::nn {

namespace {

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

// f'(pre) elementwise, given post = f(pre): from post for sigmoid, else through the activation's
// own backward (a vector-Jacobian product with ones is f' for an elementwise f).
Tensor derivative(ActivationFunction& act, const Tensor& pre, const Tensor& post) {
  if (act.info().name == "sigmoid") {
    NoGradGuard no_grad;
    return post * (1.0 - post);
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
// The element at `offset` of a tape tensor, or null when the cell has no such tensor.
template <typename T>
T* at_step(const Tensor& t, std::int64_t offset) {
  return t.defined() ? t.data<T>() + offset : nullptr;
}

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
  tape.candidate = Tensor::empty({steps, batch, hidden}, tape.x.dtype());
  T* rec = recurrent.data<T>();
  const std::int64_t step_size = batch * hidden;
  // tanh (the default) runs inside the step kernels; another activation runs on the step's tensor.
  const bool tanh_inline = act.info().name == "tanh";
  const Tensor pre = tanh_inline ? Tensor() : Tensor::empty({steps, batch, hidden}, tape.x.dtype());
  if (tanh_inline && keep_derivatives) {
    tape.candidate_d = Tensor::empty({steps, batch, hidden}, tape.x.dtype());
    if (s.cell == Cell::lstm) tape.cell_out_d = Tensor::empty({steps, batch, hidden}, tape.x.dtype());
  }
  // out = act(pre_rows) over a step's n elements, through the activation on a tensor.
  const auto apply = [&](const Tensor& pre_rows, T* out, std::int64_t n) {
    std::copy_n(activate(act, pre_rows).contiguous().data<T>(), n, out);
  };
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t at = t * step_size;
    const StepArrays<T> arrays{.batch = batch,
                               .hidden = hidden,
                               .input_part = xw + t * batch * gh,
                               .recurrent_part = rec,
                               .h_prev = tape.states.data<T>() + at,
                               .c_prev = at_step<T>(tape.cells, at),
                               .gates = at_step<T>(tape.gates, t * batch * gh),
                               .pre = at_step<T>(pre, at),
                               .hidden_n = at_step<T>(tape.hidden_n, at),
                               .candidate = tape.candidate.data<T>() + at,
                               .candidate_d = at_step<T>(tape.candidate_d, at),
                               .c = at_step<T>(tape.cells, at + step_size),
                               .cell_out = at_step<T>(tape.cell_out, at),
                               .cell_out_d = at_step<T>(tape.cell_out_d, at),
                               .h = tape.states.data<T>() + at + step_size};
    ops::gemm<T>(false, true, batch, gh, hidden, T(1), arrays.h_prev, hidden, tape.w_hh.data<T>(), hidden,
                 init_rows_with_bias<T>(b_hh, rec, batch, gh), rec, gh);
    ACTLAB_ISA_DISPATCH(nn, step_begin<T>(s.cell, arrays, tanh_inline));
    if (!tanh_inline) apply(pre.select(0, t), arrays.candidate, step_size);
    ACTLAB_ISA_DISPATCH(nn, step_finish<T>(s.cell, arrays, tanh_inline));
    if (s.cell == Cell::lstm && !tanh_inline) {
      apply(tape.cells.select(0, t + 1), arrays.cell_out, step_size);
      ACTLAB_ISA_DISPATCH(nn, lstm_output<T>(arrays));
    }
  }
  if (!keep_derivatives || tanh_inline) return;
  tape.candidate_d = derivative(act, pre, tape.candidate).contiguous();
  if (s.cell == Cell::lstm)
    tape.cell_out_d = derivative(act, tape.cells.narrow(0, 1, steps), tape.cell_out).contiguous();
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
    const std::int64_t at = t * step_size;
    const StepGradients<T> step{.batch = batch,
                                .hidden = hidden,
                                .grad_h = gy + at,
                                .gates = at_step<T>(tape.gates, t * batch * gh),
                                .candidate = tape.candidate.data<T>() + at,
                                .candidate_d = tape.candidate_d.data<T>() + at,
                                .cell_out = at_step<T>(tape.cell_out, at),
                                .cell_out_d = at_step<T>(tape.cell_out_d, at),
                                .c_prev = at_step<T>(tape.cells, at),
                                .h_prev = tape.states.data<T>() + at,
                                .hidden_n = at_step<T>(tape.hidden_n, at),
                                .dh = dh_p,
                                .dc = dc_p,
                                .d_input = d_input.data<T>() + t * batch * gh,
                                .d_recurrent = d_recurrent.data<T>() + t * batch * gh};
    ACTLAB_ISA_DISPATCH(nn, bptt_step<T>(s.cell, step));
    ops::gemm<T>(false, false, batch, hidden, gh, T(1), step.d_recurrent, gh, tape.w_hh.data<T>(), hidden,
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
  // b_ih and b_hh get the same gradient unless the cell is a GRU: summed once, then copied (not
  // shared, since each parameter's gradient accumulates on its own).
  const auto bias_gradient = [&](const Tensor& d) { return d.reshape({rows, gh}).sum({0}); };
  if (needs[5]) grads[5] = bias_gradient(d_input);
  if (needs[6]) grads[6] = s.cell != Cell::gru && needs[5] ? grads[5].clone() : bias_gradient(d_recurrent);
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
    // Steps 1..T are all written by the forward; only step 0 is set here.
    Tensor all = Tensor::empty({s.steps + 1, s.batch, s.hidden}, dtype);
    if (initial.defined())
      all.select(0, 0).copy_(initial.detach());
    else
      all.select(0, 0).fill_(0.0);
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
#endif  // !ACTLAB_KERNELS_ONLY
