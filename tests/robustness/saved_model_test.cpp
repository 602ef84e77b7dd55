// Model files whose metadata does not fit their tensors are refused before the model is built,
// and a model holding NaN weights is evaluated with a warning saying so.
#include <gtest/gtest.h>

#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/experiment/checkpoint.h"
#include "actlab/io/state.h"
#include "robustness/cli_util.h"
#include "test_util.h"

namespace actlab::robustness {
namespace {

using actlab::testing::error_of;

// A small model file as actlab compare writes it: mlp:8 with relu on the 2-feature spirals set.
io::Metadata spirals_metadata() {
  return {{"actlab_version", "0"},   {"arm", "relu"},         {"data", "spirals"},
          {"model", "mlp:8"},        {"activation", "relu"},  {"init", "standard"},
          {"norm", "none"},          {"dropout", "0"},        {"sample_shape", "[2]"},
          {"class_names", R"(["0","1","2"])"}, {"normalization", R"({"mean":[],"std":[]})"},
          {"seed", "1"},             {"step", "10"}};
}

fs::path write_model(const fs::path& path, const io::Metadata& metadata, bool nan_weights = false) {
  experiment::Settings s;
  s.model = "mlp:8";
  s.activations = {"relu"};
  auto model = experiment::make_model(s, {2}, 3, 1);
  if (nan_weights) {
    NoGradGuard no_grad;
    model->parameters().front().fill_(NAN);
  }
  io::save_state(path.string(), *model, metadata);
  return path;
}

TEST(RobustSavedModel, TheSmallFileLoads) {
  TempDir dir;
  const auto saved = experiment::load_model(write_model(dir / "m.safetensors", spirals_metadata()).string());
  EXPECT_EQ(saved.class_names.size(), 3u);
}

TEST(RobustSavedModel, HugeModelSpecIsRefusedBeforeBuilding) {
  TempDir dir;
  for (const char* model : {"mlp:200000,200000", "mlp:64x100000", "mlp:99999999999", "resnet-small:100000"}) {
    io::Metadata metadata = spirals_metadata();
    metadata["model"] = model;
    const fs::path path = write_model(dir / "m.safetensors", metadata);
    const std::string message = error_of([&] { experiment::load_model(path.string()); });
    EXPECT_NE(message.find("does not describe this file's weights"), std::string::npos) << model << ": " << message;
  }
}

TEST(RobustSavedModel, HugeSampleShapeIsRefusedBeforeBuilding) {
  TempDir dir;
  for (const char* shape : {"[100000,100000,100000]", "[4294967296,4294967296,4294967296]", "[0]", "[-3]", "[]"}) {
    io::Metadata metadata = spirals_metadata();
    metadata["sample_shape"] = shape;
    const fs::path path = write_model(dir / "m.safetensors", metadata);
    EXPECT_NE(error_of([&] { experiment::load_model(path.string()); }).find("sample_shape"), std::string::npos)
        << shape;
  }
}

TEST(RobustSavedModel, TooManyClassesAreRefused) {
  TempDir dir;
  io::Metadata metadata = spirals_metadata();
  std::string names = "[";
  for (int i = 0; i < 1000; ++i) names += fmt::format("{}\"c{}\"", i ? "," : "", i);
  metadata["class_names"] = names + "]";
  const fs::path path = write_model(dir / "m.safetensors", metadata);
  EXPECT_NE(error_of([&] { experiment::load_model(path.string()); }).find("classes"), std::string::npos);
}

// eval and predict describe the model they load the same way; eval is checked here.
TEST(RobustSavedModel, EvalWarnsOfNonFiniteWeights) {
  TempDir dir;
  const fs::path path = write_model(dir / "nan.safetensors", spirals_metadata(), true);
  const Result eval = run_actlab({"eval", path.string(), "--data", "spirals"}, dir.path());
  EXPECT_NE(eval.output.find("warning: " + path.string() + " holds non-finite weights"), std::string::npos)
      << eval.output;
  EXPECT_NE(eval.output.find("1.weight (16 of 16)"), std::string::npos) << eval.output;
  const Result clean = run_actlab({"eval", write_model(dir / "ok.safetensors", spirals_metadata()).string(), "--data",
                                   "spirals"},
                                  dir.path());
  EXPECT_EQ(clean.status, 0) << clean.output;
  EXPECT_EQ(clean.output.find("non-finite"), std::string::npos) << clean.output;
}

}  // namespace
}  // namespace actlab::robustness
