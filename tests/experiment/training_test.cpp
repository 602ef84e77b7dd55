// The model, optimizer and schedule catalogs: estimates match built models, oversized specs are
// refused before they allocate, and every schedule argument is range-checked.
#include "actlab/experiment/training.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace actlab::experiment {
namespace {

using testing::error_of;

Settings with_model(const std::string& model, const std::string& norm = "none") {
  Settings s;
  s.model = model;
  s.norm = norm;
  s.activations = {"relu"};
  return s;
}

void expect_parts(const std::string& message, std::initializer_list<std::string> parts) {
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
}

TEST(ModelCatalog, EstimatedParameterCountsMatchTheBuiltModels) {
  const std::vector<std::pair<std::string, Shape>> cases = {{"mlp:12,7x2", {2}},
                                                            {"mlp:5", {1, 28, 28}},
                                                            {"lenet5", {1, 28, 28}},
                                                            {"cifar-cnn", {3, 32, 32}},
                                                            {"resnet-small:1", {3, 32, 32}}};
  for (const auto& [model, shape] : cases)
    for (const std::string norm : {"none", "batch", "layer"})
      for (const std::int64_t classes : {3, 10}) {
        const Settings s = with_model(model, norm);
        const double estimate = model_size(s, shape, classes).parameters;
        EXPECT_EQ(estimate, static_cast<double>(make_model(s, shape, classes, 0)->num_parameters()))
            << model << " norm=" << norm << " classes=" << classes;
      }
}

TEST(ModelCatalog, AnOversizedModelIsRefusedBeforeItAllocates) {
  const Settings huge = with_model("mlp:999999999x999");
  expect_parts(error_of([&] { make_model(huge, {1, 28, 28}, 10, 0); }),
               {"model 'mlp:999999999x999'", "parameters", "GB", "max_parameters = 200,000,000"});
  Settings small = with_model("mlp:256x4");
  small.max_parameters = 1000;
  const double count = model_size(small, {1, 28, 28}, 10).parameters;
  EXPECT_EQ(count, 785.0 * 256 + 3 * 257.0 * 256 + 257.0 * 10);
  expect_parts(error_of([&] { make_model(small, {1, 28, 28}, 10, 0); }), {"400,906 parameters", "max_parameters = 1,000"});
  // Adam keeps two buffers per parameter: weights, gradients and both, in float32.
  EXPECT_EQ(model_size(small, {1, 28, 28}, 10).bytes, count * 4 * 4);
}

TEST(ModelCatalog, BadSpecsNameTheFix) {
  expect_parts(error_of([] { make_model(with_model("vgg"), {2}, 2, 0); }),
               {"unknown model 'vgg'", "mlp:WIDTH[xREPEAT],...", "resnet-small[:BLOCKS]"});
  expect_parts(error_of([] { make_model(with_model("lenet5"), {3, 32, 32}, 10, 0); }),
               {"lenet5", "[1,28,28]", "[3,32,32]"});
  expect_parts(error_of([] { make_model(with_model("lenet5:3"), {1, 28, 28}, 10, 0); }), {"takes no arguments"});
  expect_parts(error_of([] { make_model(with_model("mlp"), {2}, 2, 0); }), {"needs hidden widths"});
  expect_parts(error_of([] { make_model(with_model("resnet-small:0"), {3, 32, 32}, 10, 0); }),
               {"not a positive integer"});
}

TEST(OptimizerCatalog, EveryKindBuildsWithTheSettings) {
  Tensor w = ones({2}).requires_grad_();
  Settings s;
  s.lr = 0.25;
  s.momentum = 0.8;
  for (const OptimizerKind& kind : optimizer_kinds()) {
    s.optimizer = kind.name;
    const auto optimizer = make_optimizer(s, {w});
    EXPECT_DOUBLE_EQ(optimizer->lr(), 0.25) << kind.name;
  }
  s.optimizer = "nesterov";
  const auto nesterov = make_optimizer(s, {w});
  const auto& options = dynamic_cast<optim::SGD&>(*nesterov).options();
  EXPECT_TRUE(options.nesterov);
  EXPECT_DOUBLE_EQ(options.momentum, 0.8);
  s.optimizer = "adamax";
  expect_parts(error_of([&] { make_optimizer(s, {w}); }), {"unknown optimizer 'adamax'", "sgd, momentum"});
}

TEST(ScheduleCatalog, EveryArgumentIsRangeChecked) {
  const std::vector<std::pair<std::string, std::string>> rejected = {
      {"exponential:nan", "gamma must be a finite number"},
      {"exponential:inf", "gamma must be a finite number"},
      {"exponential:-1", "gamma must be in (0, 1], got -1"},
      {"exponential:0", "gamma must be in (0, 1]"},
      {"exponential:1.5", "gamma must be in (0, 1]"},
      {"exponential", "takes 1 to 1 argument(s) (exponential:GAMMA)"},
      {"step:1:nan", "gamma must be a finite number"},
      {"step:0", "epochs must be in [1, "},
      {"step:1.5", "epochs must be an integer"},
      {"step:two", "'two' is not a number"},
      {"cosine:5", "warmup 5 must be shorter than the 5 epochs"},
      {"cosine:-1", "warmup must be in [0, "},
      {"warmup:0", "epochs must be in [1, "},
      {"plateau:1:2", "takes 0 to 1 argument(s)"},
      {"triangle", "unknown; valid: none | step:EPOCHS[:GAMMA]"},
  };
  for (const auto& [spec, part] : rejected)
    expect_parts(error_of([&] { check_schedule(spec, 5, "--schedule"); }), {"--schedule: schedule '" + spec + "'", part});
  for (const std::string spec : {"none", "step:2", "step:2:0.5", "exponential:1", "exponential:0.9", "cosine",
                                 "cosine:0", "cosine:4", "warmup:3", "plateau", "plateau:4"})
    EXPECT_NO_THROW(check_schedule(spec, 5, "--schedule")) << spec;
}

TEST(ScheduleCatalog, TheBuiltScheduleFollowsItsArguments) {
  Tensor w = ones({1}).requires_grad_();
  Settings s;
  s.optimizer = "sgd";
  s.lr = 1.0;
  s.schedule = "step:2:0.5";
  const auto optimizer = make_optimizer(s, {w});
  Schedule schedule(s, *optimizer);
  std::vector<double> rates;
  for (int epoch = 0; epoch < 4; ++epoch) {
    schedule.epoch_end(1.0);
    rates.push_back(optimizer->lr());
  }
  EXPECT_EQ(rates, (std::vector<double>{1.0, 0.5, 0.5, 0.25}));
}

TEST(Catalogs, TheSettingsHelpListsEveryChoice) {
  std::string data_help, model_help, optimizer_help, schedule_help;
  for (const SettingInfo& info : setting_keys()) {
    if (info.key == "data") data_help = info.help;
    if (info.key == "model") model_help = info.help;
    if (info.key == "optimizer") optimizer_help = info.help;
    if (info.key == "schedule") schedule_help = info.help;
  }
  for (const ModelKind& kind : model_kinds()) EXPECT_NE(model_help.find(kind.syntax), std::string::npos) << kind.name;
  for (const OptimizerKind& kind : optimizer_kinds()) EXPECT_NE(optimizer_help.find(kind.name), std::string::npos);
  for (const ScheduleKind& kind : schedule_kinds()) EXPECT_NE(schedule_help.find(kind.syntax), std::string::npos);
  EXPECT_NE(data_help.find("cifar100"), std::string::npos) << data_help;
  Settings s;
  set_setting(s, "data", "cifar100", "--data");
  EXPECT_EQ(s.data, "cifar100");
}

}  // namespace
}  // namespace actlab::experiment
