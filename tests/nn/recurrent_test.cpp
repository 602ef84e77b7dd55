// RNN, LSTM, GRU: gradients against finite differences, values and gradients against PyTorch,
// PyTorch's parameter names, and the module plumbing (hooks, errors, init).
#include "actlab/nn/recurrent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "actlab/activations/pointwise.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/gradcheck.h"
#include "actlab/core/cpu.h"
#include "actlab/io/safetensors.h"
#include "actlab/nn/any_module.h"
#include "data/data_test_util.h"
#include "test_util.h"

namespace actlab {
namespace {

using nn::RecurrentBase;

constexpr std::int64_t kSteps = 4, kBatch = 2, kInput = 3, kHidden = 5, kLayers = 2;

struct Config {
  std::string kind;  // "RNN", "LSTM", "GRU"
  std::string activation = "tanh";
  bool batch_first = false;
  bool bias = true;
  std::int64_t hidden = kHidden;
};

std::string name_of(const Config& c) {
  return fmt::format("{}({}{}{})", c.kind, c.activation, c.batch_first ? ", batch_first" : "",
                     c.bias ? "" : ", no bias");
}

std::shared_ptr<RecurrentBase> make(const Config& c, Generator& gen) {
  const auto gated = [&] {
    return nn::GatedRNNOptions{kInput, c.hidden, kLayers, c.bias, c.batch_first, c.activation};
  };
  if (c.kind == "RNN")
    return std::make_shared<nn::RNN>(nn::RNNOptions{kInput, c.hidden, kLayers, c.bias, c.batch_first, c.activation},
                                     gen);
  if (c.kind == "LSTM") return std::make_shared<nn::LSTM>(gated(), gen);
  return std::make_shared<nn::GRU>(gated(), gen);
}

// (output, h_n, c_n) through the module's own forward; c_n undefined except for LSTM.
std::tuple<Tensor, Tensor, Tensor> run(RecurrentBase& model, const Tensor& x, const Tensor& h0, const Tensor& c0) {
  const auto state = [](const Tensor& t) { return t.defined() ? std::optional<Tensor>(t) : std::nullopt; };
  if (auto* lstm = dynamic_cast<nn::LSTM*>(&model)) {
    std::optional<nn::LSTM::State> hc;
    if (h0.defined()) hc = nn::LSTM::State{h0, c0};
    auto [out, hn_cn] = (*lstm)(x, hc);
    return {out, std::get<0>(hn_cn), std::get<1>(hn_cn)};
  }
  if (auto* gru = dynamic_cast<nn::GRU*>(&model)) {
    auto [out, h_n] = (*gru)(x, state(h0));
    return {out, h_n, Tensor()};
  }
  auto [out, h_n] = (*dynamic_cast<nn::RNN*>(&model))(x, state(h0));
  return {out, h_n, Tensor()};
}

// The layers' tensors in PyTorch's order (weight_ih, weight_hh, bias_ih, bias_hh per layer).
std::vector<Tensor*> weight_slots(RecurrentBase& model) {
  std::vector<Tensor*> slots;
  for (auto& w : model.layers)
    for (Tensor* t : {&w.weight_ih, &w.weight_hh, &w.bias_ih, &w.bias_hh})
      if (t->defined()) slots.push_back(t);
  return slots;
}

Shape input_shape(const Config& c) {
  return c.batch_first ? Shape{kBatch, kSteps, kInput} : Shape{kSteps, kBatch, kInput};
}

void expect_gradcheck(const Config& c, bool initial_states) {
  Generator gen(11);
  auto model = make(c, gen);
  model->to(kFloat64);
  std::vector<Tensor> inputs{randn(input_shape(c), gen, kFloat64).requires_grad_()};
  const bool lstm = c.kind == "LSTM";
  if (initial_states) {
    inputs.push_back(randn({kLayers, kBatch, kHidden}, gen, kFloat64).requires_grad_());
    if (lstm) inputs.push_back(randn({kLayers, kBatch, kHidden}, gen, kFloat64).requires_grad_());
  }
  const std::size_t first_weight = inputs.size();
  for (Tensor* slot : weight_slots(*model)) inputs.push_back(*slot);
  const auto f = [&](const std::vector<Tensor>& in) {
    const auto slots = weight_slots(*model);
    for (std::size_t i = 0; i < slots.size(); ++i) *slots[i] = in[first_weight + i];
    const Tensor h0 = initial_states ? in[1] : Tensor();
    const Tensor c0 = initial_states && lstm ? in[2] : Tensor();
    auto [out, h_n, c_n] = run(*model, in[0], h0, c0);
    std::vector<Tensor> parts{out.flatten(), h_n.flatten()};
    if (lstm) parts.push_back(c_n.flatten());
    return cat(parts, 0);
  };
  const GradcheckResult r = gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << name_of(c) << (initial_states ? " with" : " without") << " initial states: " << r.message;
}

TEST(Recurrent, GradcheckEveryCellWithAndWithoutStatesBothLayouts) {
  for (const Config& base : {Config{"RNN"}, Config{"RNN", "relu"}, Config{"LSTM"}, Config{"GRU"}})
    for (const bool batch_first : {false, true})
      for (const bool initial_states : {false, true}) {
        Config c = base;
        c.batch_first = batch_first;
        expect_gradcheck(c, initial_states);
      }
}

TEST(Recurrent, GradcheckOtherActivationsAndNoBias) {
  expect_gradcheck({"LSTM", "elu", false, false}, true);
  expect_gradcheck({"GRU", "gelu", true, false}, true);
  expect_gradcheck({"RNN", "softsign", false, false}, false);
}

TEST(Recurrent, StateDictNamesAndShapesAreThoseOfPyTorch) {
  Generator gen(1);
  nn::LSTM lstm({.input_size = 3, .hidden_size = 5, .num_layers = 2}, gen);
  std::vector<std::string> names;
  for (const auto& [name, t] : lstm.state_dict()) names.push_back(name + shape_str(t.shape()));
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0[20,3]", "weight_hh_l0[20,5]", "bias_ih_l0[20]",
                                             "bias_hh_l0[20]", "weight_ih_l1[20,5]", "weight_hh_l1[20,5]",
                                             "bias_ih_l1[20]", "bias_hh_l1[20]"}));
  nn::GRU gru({.input_size = 4, .hidden_size = 6, .bias = false}, gen);
  names.clear();
  for (const auto& [name, t] : gru.state_dict()) names.push_back(name + shape_str(t.shape()));
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0[18,4]", "weight_hh_l0[18,6]"}));
  nn::RNN rnn({.input_size = 2, .hidden_size = 7}, gen);
  EXPECT_EQ(rnn.state_dict()[0].second.shape(), (Shape{7, 2}));
}

TEST(Recurrent, DefaultInitIsUniformWithinOneOverSqrtHidden) {
  Generator gen(3);
  nn::GRU gru({.input_size = 10, .hidden_size = 64, .num_layers = 2}, gen);
  const double bound = 1.0 / 8.0;
  for (const auto& [name, t] : gru.named_parameters()) {
    EXPECT_LE(t.abs().max().item(), bound) << name;
    EXPECT_GT(t.abs().max().item(), 0.9 * bound) << name;  // spread over the whole range
    EXPECT_LT(std::abs(t.mean().item()), 0.1 * bound) << name;
  }
}

TEST(Recurrent, ShapesFollowPyTorchAndHiddenStateIsTheLastOutput) {
  Generator gen(5);
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .num_layers = 3, .batch_first = true}, gen);
  const Tensor x = randn({2, 6, 3}, gen);
  auto [out, hc] = lstm(x);
  const auto& [h_n, c_n] = hc;
  EXPECT_EQ(out.shape(), (Shape{2, 6, 4}));
  EXPECT_EQ(h_n.shape(), (Shape{3, 2, 4}));
  EXPECT_EQ(c_n.shape(), (Shape{3, 2, 4}));
  EXPECT_TRUE(allclose(out.select(1, 5), h_n.select(0, 2), 0, 0));
  // Running in two chunks, passing the state on, gives the same as one run.
  auto [first, state] = lstm(x.narrow(1, 0, 2));
  auto [second, state2] = lstm(x.narrow(1, 2, 4), state);
  EXPECT_TRUE(allclose(cat({first, second}, 1), out, 1e-6, 1e-7));
  EXPECT_TRUE(allclose(std::get<1>(state2), c_n, 1e-6, 1e-7));
}

TEST(Recurrent, WithoutGradGivesTheSameValues) {
  Generator gen(6);
  nn::GRU gru({.input_size = 3, .hidden_size = 4, .num_layers = 2, .activation = "elu"}, gen);
  const Tensor x = randn({5, 2, 3}, gen);
  auto [recorded, h_recorded] = gru(x);
  EXPECT_NE(recorded.grad_fn(), nullptr);
  NoGradGuard no_grad;
  auto [plain, h_plain] = gru(x);
  EXPECT_EQ(plain.grad_fn(), nullptr);
  EXPECT_TRUE(allclose(plain, recorded, 0, 0));
  EXPECT_TRUE(allclose(h_plain, h_recorded, 0, 0));
}

// The step kernels are compiled per instruction-set level: at every level this CPU has, with 37
// units (whole vectors and a remainder at every width), tanh inside the kernels and other
// activations between them.
TEST(Recurrent, VectorKernelsMatchTheScalarReferenceAtEveryLevel) {
  const std::vector<Config> configs = {{"RNN", "tanh", false, true, 37},      {"LSTM", "tanh", false, true, 37},
                                       {"GRU", "tanh", true, true, 37},       {"RNN", "relu", false, true, 37},
                                       {"LSTM", "elu", false, false, 37},     {"GRU", "sigmoid", false, true, 37},
                                       {"LSTM", "tanh", false, true, kHidden}};
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    for (const Config& c : configs) {
      // Gradients of x and of every parameter, with the vector kernels or the scalar reference loops.
      const auto gradients = [&](bool reference) {
        std::optional<ReferenceKernelsGuard> guard;
        if (reference) guard.emplace();
        Generator gen(9);
        auto model = make(c, gen);
        const Tensor x = randn(input_shape(c), gen).requires_grad_();
        auto [out, h_n, c_n] = run(*model, x, Tensor(), Tensor());
        (out * out).sum().backward();
        std::vector<Tensor> all{out.detach(), x.grad()};
        for (const Tensor& p : model->parameters()) all.push_back(p.grad());
        return all;
      };
      const auto vector = gradients(false), reference = gradients(true);
      for (std::size_t i = 0; i < vector.size(); ++i)
        EXPECT_TRUE(allclose(vector[i], reference[i], 1e-5, 1e-6))
            << isa_name(isa) << ": " << name_of(c) << " hidden " << c.hidden << " tensor " << i;
    }
  }
}

TEST(Recurrent, HooksSeeEveryInputAndOutput) {
  Generator gen(7);
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4}, gen);
  std::vector<std::size_t> counts;
  lstm.register_forward_hook([&](nn::Module&, const nn::Call& call) {
    counts = {call.inputs.size(), call.outputs.size()};
  });
  const Tensor h0 = zeros({1, 2, 4}), c0 = zeros({1, 2, 4});
  std::vector<std::pair<std::size_t, Shape>> grads;
  lstm.register_backward_hook([&](nn::Module&, std::int64_t, std::size_t output, const Tensor& grad) {
    grads.emplace_back(output, grad.shape());
  });
  auto [out, hc] = lstm(randn({5, 2, 3}, gen), nn::LSTM::State{h0, c0});
  EXPECT_EQ(counts, (std::vector<std::size_t>{3, 3}));  // x, h0, c0; output, h_n, c_n
  (out.sum() + std::get<1>(hc).sum()).backward();
  std::sort(grads.begin(), grads.end());
  EXPECT_EQ(grads, (std::vector<std::pair<std::size_t, Shape>>{{0, {5, 2, 4}}, {2, {1, 2, 4}}}));
  nn::AnyModule any(std::make_shared<nn::RNN>(nn::RNNOptions{.input_size = 3, .hidden_size = 4}, gen));
  const auto result = std::any_cast<std::tuple<Tensor, Tensor>>(any(std::any(randn({5, 2, 3}, gen))));
  EXPECT_EQ(std::get<0>(result).shape(), (Shape{5, 2, 4}));
}

TEST(Recurrent, ErrorsNameTheProblem) {
  using testing::error_of;
  Generator gen(8);
  nn::RNN rnn({.input_size = 3, .hidden_size = 4, .num_layers = 2}, gen);
  EXPECT_NE(error_of([&] { rnn(randn({5, 2, 4}, gen)); }).find("input_size = 3"), std::string::npos);
  EXPECT_NE(error_of([&] { rnn(randn({5, 3}, gen)); }).find("got shape [5,3]"), std::string::npos);
  EXPECT_NE(error_of([&] { rnn(randn({5, 2, 3}, gen), zeros({1, 2, 4})); }).find("[2,2,4]"), std::string::npos);
  EXPECT_NE(error_of([&] { rnn(randn({5, 2, 3}, gen, kFloat64)); }).find("to()"), std::string::npos);
  EXPECT_NE(error_of([&] { nn::LSTM({.input_size = 3, .hidden_size = 4, .activation = "softmax"}); })
                .find("elementwise"),
            std::string::npos);
  EXPECT_NE(error_of([&] { nn::GRU({.input_size = 3, .hidden_size = 0}); }).find("positive"), std::string::npos);
}

// ---- PyTorch as the oracle ----

constexpr const char* kPython = "/usr/bin/python3";
constexpr int kNoTorch = 3;

// For each file written below: runs torch.nn.<kind> with the same weights and inputs, and
// compares outputs, final states and all gradients; prints the relative error per tensor
// (max |a - b| / max |b|) and exits 1 when one exceeds the file's tolerance or is missing.
constexpr const char* kOracle = R"(
import json, struct, sys
try:
    import torch
except ImportError:
    sys.exit(3)
def check(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__')
    body = data[8 + n:]
    dtypes = {'F32': torch.float32, 'F64': torch.float64}
    t = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        t[name] = torch.frombuffer(bytearray(body[begin:end]), dtype=dtypes[info['dtype']]).reshape(info['shape'])
    dtype = torch.float64 if meta['dtype'] == 'float64' else torch.float32
    kind = meta['kind']
    args = dict(input_size=int(meta['input_size']), hidden_size=int(meta['hidden_size']),
                num_layers=int(meta['num_layers']), bias=meta['bias'] == '1', batch_first=meta['batch_first'] == '1')
    if kind == 'RNN':
        args['nonlinearity'] = meta['activation']
    model = getattr(torch.nn, kind)(**args).to(dtype)
    model.load_state_dict({k[len('param.'):]: v for k, v in t.items() if k.startswith('param.')}, strict=True)
    x = t['input.x'].clone().requires_grad_()
    state = None
    if 'input.h0' in t:
        h0 = t['input.h0'].clone().requires_grad_()
        state = h0
        if kind == 'LSTM':
            c0 = t['input.c0'].clone().requires_grad_()
            state = (h0, c0)
    out, final = model(x, state)
    h_n, c_n = final if kind == 'LSTM' else (final, None)
    loss = (out * t['input.wo']).sum() + (h_n * t['input.wh']).sum()
    if kind == 'LSTM':
        loss = loss + (c_n * t['input.wc']).sum()
    loss.backward()
    torch_values = {'result.out': out, 'result.h_n': h_n, 'grad.x': x.grad}
    if kind == 'LSTM':
        torch_values['result.c_n'] = c_n
    if state is not None:
        torch_values['grad.h0'] = h0.grad
        if kind == 'LSTM':
            torch_values['grad.c0'] = c0.grad
    for name, p in model.named_parameters():
        torch_values['grad.' + name] = p.grad
    tolerance = float(meta['tolerance'])
    worst = 0.0
    for name, value in sorted(torch_values.items()):
        expected = value.detach()
        error = ((t[name] - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()
        worst = max(worst, error)
        print(path, name, error)
    return worst <= tolerance and len(torch_values) == len([k for k in t if k.startswith(('result.', 'grad.'))])

results = [check(path) for path in sys.argv[1:]]
sys.exit(0 if all(results) else 1)
)";

// Writes one case (weights, inputs, our results and gradients) to `path` for the oracle.
void write_case(const std::string& path, const Config& c, DType dtype, bool initial_states) {
  Generator gen(21);
  auto model = make(c, gen);
  model->to(dtype);
  const bool lstm = c.kind == "LSTM";
  io::NamedTensors tensors;
  for (const auto& [name, p] : model->named_parameters()) tensors.emplace_back("param." + name, p);
  const Tensor x = randn(input_shape(c), gen, dtype).requires_grad_();
  Tensor h0, c0;
  if (initial_states) {
    h0 = randn({kLayers, kBatch, kHidden}, gen, dtype).requires_grad_();
    if (lstm) c0 = randn({kLayers, kBatch, kHidden}, gen, dtype).requires_grad_();
  }
  auto [out, h_n, c_n] = run(*model, x, h0, c0);
  const Tensor wo = randn(out.shape(), gen, dtype), wh = randn(h_n.shape(), gen, dtype);
  Tensor loss = (out * wo).sum() + (h_n * wh).sum();
  tensors.insert(tensors.end(), {{"input.x", x}, {"input.wo", wo}, {"input.wh", wh}, {"result.out", out},
                                 {"result.h_n", h_n}});
  if (lstm) {
    const Tensor wc = randn(c_n.shape(), gen, dtype);
    loss = loss + (c_n * wc).sum();
    tensors.insert(tensors.end(), {{"input.wc", wc}, {"result.c_n", c_n}});
  }
  loss.backward();
  tensors.emplace_back("grad.x", x.grad());
  if (initial_states) {
    tensors.insert(tensors.end(), {{"input.h0", h0}, {"grad.h0", h0.grad()}});
    if (lstm) tensors.insert(tensors.end(), {{"input.c0", c0}, {"grad.c0", c0.grad()}});
  }
  for (const auto& [name, p] : model->named_parameters()) tensors.emplace_back("grad." + name, p.grad());
  for (auto& entry : tensors) entry.second = entry.second.detach();
  const io::Metadata metadata{{"kind", c.kind},
                              {"activation", c.activation},
                              {"input_size", std::to_string(kInput)},
                              {"hidden_size", std::to_string(kHidden)},
                              {"num_layers", std::to_string(kLayers)},
                              {"bias", c.bias ? "1" : "0"},
                              {"batch_first", c.batch_first ? "1" : "0"},
                              {"dtype", std::string(dtype_name(dtype))},
                              {"tolerance", dtype == kFloat64 ? "1e-10" : "1e-5"}};
  io::save_safetensors(path, tensors, metadata);
}

TEST(Recurrent, MatchesPyTorchInValuesAndEveryGradient) {
  if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " is missing";
  test::TempDir dir;
  std::string files;
  int index = 0;
  for (const DType dtype : {kFloat32, kFloat64})
    for (const auto& [config, initial_states] :
         {std::pair{Config{"RNN"}, true}, {Config{"RNN", "relu", true}, false}, {Config{"LSTM"}, true},
          {Config{"LSTM", "tanh", true, false}, false}, {Config{"GRU", "tanh", true}, true},
          {Config{"GRU", "tanh", false, false}, false}}) {
      const std::string path = (dir / fmt::format("case{}.safetensors", index++)).string();
      write_case(path, config, dtype, initial_states);
      files += " " + path;
    }
  std::ofstream(dir / "oracle.py") << kOracle;
  const std::string command = fmt::format("{} {}{} 2>&1", kPython, (dir / "oracle.py").string(), files);
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string report;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) report.append(buffer, n);
  const int status = ::pclose(pipe);
  if (WEXITSTATUS(status) == kNoTorch) GTEST_SKIP() << "PyTorch is not importable by " << kPython;
  EXPECT_EQ(status, 0) << "differs from PyTorch (relative error per tensor):\n" << report;
  EXPECT_NE(report.find("grad.weight_hh_l1"), std::string::npos) << report;
}

}  // namespace
}  // namespace actlab
