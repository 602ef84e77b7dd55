// Gradients through time: dL/dh_t against central differences on a tiny float64 RNN, the spectral
// radius against known matrices, gate saturation, and the verdicts on labelled snapshots.
#include "actlab/diagnostics/through_time.h"

#include <gtest/gtest.h>

#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/nn/loss.h"

namespace actlab::diagnostics {
namespace {

const ProbeLoss kMse = [](const Tensor& output, const data::Batch& probe) {
  return nn::mse_loss(output, probe.labels.reshape(output.shape()));
};

// The probe loss with `delta` added to the hidden states [layers, B, H] after step `at`.
double loss_with(nn::SequenceModel& model, const data::Batch& probe, std::int64_t at, const Tensor& delta) {
  NoGradGuard no_grad;
  const Tensor x = model.steps_of(probe.images);
  Tensor h, c;
  std::vector<Tensor> tops;
  for (std::int64_t t = 0; t < x.size(1); ++t) {
    auto [out, h_n, c_n] = model.run_stack(x.narrow(1, t, 1), h, c);
    h = t == at ? h_n + delta : h_n;
    c = c_n;
    tops.push_back(h.select(0, h.size(0) - 1).unsqueeze(1));
  }
  return kMse(model.head_of(cat(tops, 1)), probe).item();
}

TEST(ThroughTime, GradientNormsMatchCentralDifferencesForEveryStep) {
  for (const auto cell : {nn::RecurrentBase::Cell::rnn, nn::RecurrentBase::Cell::lstm}) {
    auto model = nn::sequence_model({cell, 2, 3, 2, 1, false}, {.activation = "tanh", .seed = 5});
    model->to(kFloat64);
    Generator gen(9);
    const data::Batch probe{randn({2, 6, 2}, gen, kFloat64), randn({2}, gen, kFloat64)};
    const ThroughTimeSnapshot s = measure_through_time(*model, probe, kMse, 0);
    ASSERT_EQ(s.grad_norms.size(), 6u);
    const double eps = 1e-6;
    for (std::int64_t t = 0; t < 6; ++t) {
      double squared = 0;
      for (std::int64_t k = 0; k < 2 * 2 * 3; ++k) {
        std::vector<double> e(12, 0.0);
        e[k] = eps;
        const Tensor delta = from_vector(e, {2, 2, 3});
        const double g = (loss_with(*model, probe, t, delta) - loss_with(*model, probe, t, delta * -1.0)) / (2 * eps);
        squared += g * g;
      }
      EXPECT_NEAR(s.grad_norms[t], std::sqrt(squared), 1e-7 * (1 + std::sqrt(squared))) << "step " << t;
    }
    for (const Tensor& p : model->parameters()) EXPECT_FALSE(p.grad().defined()) << "the probe left gradients";
  }
}

TEST(ThroughTime, SpectralRadiusOfKnownMatrices) {
  // A rotation by 90 degrees scaled by 0.5: eigenvalues +-0.5i, which plain power iteration cannot find.
  EXPECT_NEAR(spectral_radius(from_vector<double>({0, -0.5, 0.5, 0}, {2, 2})), 0.5, 1e-9);
  EXPECT_NEAR(spectral_radius(from_vector<double>({2, 1, 0, 1.5}, {2, 2})), 2.0, 0.02);
  EXPECT_THROW(spectral_radius(zeros({2, 3})), Error);
}

TEST(ThroughTime, GateSaturationCountsGatesPastTheirKnees) {
  auto model = nn::sequence_model({nn::RecurrentBase::Cell::lstm, 2, 4, 1, 1, false}, {.seed = 1});
  // A forget bias of 10 keeps every forget gate above 0.95; the others stay near 0.5.
  {
    NoGradGuard no_grad;
    Tensor(model->recurrent().layers[0].bias_ih).narrow(0, 4, 4).fill_(10.0);
  }
  const data::Batch probe{randn({8, 5, 2}) * 0.1, randn({8})};
  const ThroughTimeSnapshot s = measure_through_time(*model, probe, kMse, 0);
  ASSERT_EQ(s.gate_saturation.size(), 3u);
  EXPECT_EQ(s.gate_saturation[1].first, "forget");
  EXPECT_EQ(s.gate_saturation[1].second, 1.0);
  EXPECT_LT(s.gate_saturation[0].second, 0.5);
  EXPECT_EQ(s.hidden_mean.size(), 5u);
}

ThroughTimeSnapshot labelled(std::vector<double> norms, std::vector<std::pair<std::string, double>> gates = {}) {
  ThroughTimeSnapshot s;
  s.step = 300;
  s.grad_norms = std::move(norms);
  s.spectral_radius = {0.9};
  s.gate_saturation = std::move(gates);
  return s;
}

RunFacts rnn_on_adding() {
  RunFacts facts;
  facts.settings = {{"data", "adding:100", "mnist"}, {"model", "rnn:128", "mlp:256,256"}, {"init", "default", "default"}};
  return facts;
}

std::vector<std::string> kinds(const std::vector<Verdict>& verdicts) {
  std::vector<std::string> out;
  for (const auto& v : verdicts) out.push_back(v.kind);
  return out;
}

TEST(ThroughTimeVerdicts, VanishingNamesTheHorizonAndTheRemediesAsCommands) {
  std::vector<double> norms;
  for (int t = 0; t < 100; ++t) norms.push_back(std::pow(0.8, 99 - t));  // 1e-3 is crossed 31 steps back
  const auto verdicts = judge_through_time({labelled(norms)}, rnn_on_adding());
  ASSERT_EQ(kinds(verdicts), std::vector<std::string>{"vanishing_through_time"});
  EXPECT_NE(verdicts[0].evidence.find("over the last 31 of 100 steps"), std::string::npos) << verdicts[0].evidence;
  const std::string remedies = fmt::format("{}", fmt::join(verdicts[0].remedies, "\n"));
  for (const char* expected : {"--model lstm:128", "--model gru:128", "--init identity", "--init orthogonal",
                               "--data adding:50"})
    EXPECT_NE(remedies.find(expected), std::string::npos) << expected << " in\n" << remedies;
}

TEST(ThroughTimeVerdicts, ExplodingAndSaturatedGatesAndAHealthyCurve) {
  std::vector<double> growing, flat(50, 1.0);
  for (int t = 0; t < 50; ++t) growing.push_back(std::pow(1.5, 49 - t));
  EXPECT_EQ(kinds(judge_through_time({labelled(growing)}, rnn_on_adding())),
            std::vector<std::string>{"exploding_through_time"});
  EXPECT_TRUE(judge_through_time({labelled(flat, {{"forget", 0.3}})}, rnn_on_adding()).empty());
  const auto saturated = judge_through_time({labelled(flat, {{"forget", 0.9}})}, rnn_on_adding());
  ASSERT_EQ(kinds(saturated), std::vector<std::string>{"saturated_gates"});
  EXPECT_NE(saturated[0].remedies.front().find("--forget-bias 1"), std::string::npos);
}

TEST(ThroughTimeVerdicts, SnapshotsRoundTripThroughJson) {
  const ThroughTimeSnapshot s = labelled({1, 2, 3}, {{"reset", 0.25}});
  const ThroughTimeSnapshot back = through_time_from_json(to_json(s));
  EXPECT_EQ(back.grad_norms, s.grad_norms);
  EXPECT_EQ(back.gate_saturation, s.gate_saturation);
  EXPECT_THROW(through_time_from_json({{"step", 1}}), Error);
}

}  // namespace
}  // namespace actlab::diagnostics
