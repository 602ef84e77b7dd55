// The activation registry: spec strings, errors that list what exists, metadata and gains.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "actlab/activations/activation.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace {

std::string error_of(std::string_view spec) {
  try {
    make_activation(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ActivationRegistry, BuildsFromSpecStrings) {
  EXPECT_EQ(make_activation("relu")->spec(), "relu");
  EXPECT_EQ(make_activation("leaky_relu:0.1")->spec(), "leaky_relu:negative_slope=0.1");
  EXPECT_EQ(make_activation("elu:alpha=0.5")->spec(), "elu:alpha=0.5");
  EXPECT_EQ(make_activation(" Softplus : threshold=10, beta=2 ")->spec(), "softplus:beta=2,threshold=10");
  EXPECT_EQ(make_activation("hardtanh:-2,2")->spec(), "hardtanh:min_val=-2,max_val=2");
  EXPECT_EQ(make_activation("swish")->info().name, "silu");
}

TEST(ActivationRegistry, SpecRoundTrips) {
  for (const ActivationInfo* info : registered_activations()) {
    const auto act = make_activation(info->name);
    EXPECT_EQ(make_activation(act->spec())->spec(), act->spec()) << info->name;
  }
}

TEST(ActivationRegistry, ErrorsListWhatExists) {
  const std::string unknown = error_of("relux");
  EXPECT_NE(unknown.find("unknown activation 'relux'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("leaky_relu"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("gelu"), std::string::npos) << unknown;

  const std::string bad_name = error_of("elu:alpah=1");
  EXPECT_NE(bad_name.find("unknown parameter 'alpah'"), std::string::npos) << bad_name;
  EXPECT_NE(bad_name.find("alpha=1"), std::string::npos) << bad_name;

  EXPECT_NE(error_of("elu:abc").find("'abc' is not a number"), std::string::npos);
  EXPECT_NE(error_of("elu:1,2").find("too many values"), std::string::npos);
  EXPECT_NE(error_of("elu:1,alpha=2").find("given twice"), std::string::npos);
  EXPECT_NE(error_of("relu:1").find("relu takes no parameters"), std::string::npos);
  EXPECT_NE(error_of("softmax:dim=0.5").find("must be an integer"), std::string::npos);
  EXPECT_NE(error_of("softplus:beta=0").find("beta must be > 0"), std::string::npos);
  EXPECT_NE(error_of("hardtanh:1,-1").find("must be below"), std::string::npos);
  EXPECT_NE(error_of("celu:0").find("alpha must not be 0"), std::string::npos);
}

TEST(ActivationRegistry, NamesAreUniqueAndMetadataComplete) {
  std::set<std::string> names;
  for (const ActivationInfo* info : registered_activations()) {
    EXPECT_TRUE(names.insert(info->name).second) << info->name;
    for (const auto& alias : info->aliases) EXPECT_TRUE(names.insert(alias).second) << alias;
    EXPECT_FALSE(info->formula.empty()) << info->name;
    EXPECT_FALSE(info->latex.empty()) << info->name;
    EXPECT_FALSE(info->derivative.empty()) << info->name;
    EXPECT_FALSE(info->output_range.empty()) << info->name;
    EXPECT_FALSE(info->saturates.empty()) << info->name;
    EXPECT_FALSE(info->note.empty()) << info->name;
  }
  EXPECT_THROW(register_activation({*registered_activations()[0], nullptr}), Error);
}

TEST(ActivationRegistry, GainsMatchCalculateGain) {
  EXPECT_DOUBLE_EQ(make_activation("relu")->gain(), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(make_activation("tanh")->gain(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(make_activation("sigmoid")->gain(), 1.0);
  EXPECT_DOUBLE_EQ(make_activation("selu")->gain(), 0.75);
  EXPECT_DOUBLE_EQ(make_activation("leaky_relu:0.2")->gain(), std::sqrt(2.0 / 1.04));
  // The variance-preserving gain of an activation calculate_gain does not know: for relu6 it is
  // nearly ReLU's, since N(0, 1) inputs rarely exceed 6.
  EXPECT_NEAR(make_activation("relu6")->gain(), std::sqrt(2.0), 1e-6);
}

TEST(ActivationRegistry, ModuleAndFunctionAgree) {
  const Tensor x = randn({7, 9});
  EXPECT_TRUE(allclose(make_activation("elu:0.5")->forward(x), elu(x, 0.5), 0, 0));
  EXPECT_TRUE(allclose(make_activation("softmax:dim=0")->forward(x), softmax(x, 0), 0, 0));
}

TEST(ActivationRegistry, RejectsIntegerTensors) {
  try {
    relu(arange(5));
    FAIL() << "relu of an int64 tensor did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("relu: needs a float32 or float64 tensor"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace actlab
