#include <gtest/gtest.h>

#include "actlab/actlab.h"
#include "actlab/nn/loss.h"

using namespace actlab;

namespace {
const Tensor kLogits = tensor({1.0, 2.0, 0.5, -1.0, 0.0, 3.0}, kFloat64).reshape({2, 3});
const Tensor kLabels = from_vector<std::int64_t>({1, 2});
}  // namespace

// Expected values from PyTorch (float64):
//   x = [[1, 2, 0.5], [-1, 0, 3]]; y = [1, 2]
//   F.cross_entropy(x, y) = 0.265126343932687
//   F.cross_entropy(x, y, label_smoothing=0.2) = 0.5817930105993537
//   F.binary_cross_entropy_with_logits(10 x, [[1, 0, 0.3], [0, 1, 0.5]]) = 6.5333255548181235
TEST(Losses, CrossEntropyMatchesPyTorch) {
  EXPECT_NEAR(nn::cross_entropy(kLogits, kLabels).item(), 0.265126343932687, 1e-14);
  EXPECT_NEAR(nn::cross_entropy(kLogits, kLabels, {.label_smoothing = 0.2}).item(), 0.5817930105993537, 1e-14);
  const Tensor per_sample = nn::cross_entropy(kLogits, kLabels, {.reduction = nn::Reduction::None});
  EXPECT_EQ(per_sample.shape(), (Shape{2}));
  EXPECT_NEAR(per_sample.sum().item(), nn::cross_entropy(kLogits, kLabels, {.reduction = nn::Reduction::Sum}).item(),
              1e-14);
}

TEST(Losses, CrossEntropyIsStableForHugeLogits) {
  const Tensor huge = tensor({1000.0f, 0.0f, -1000.0f}).reshape({1, 3});
  EXPECT_NEAR(nn::cross_entropy(huge, from_vector<std::int64_t>({0})).item(), 0.0, 1e-6);
  EXPECT_NEAR(nn::cross_entropy(huge, from_vector<std::int64_t>({2})).item(), 2000.0, 1e-3);
}

TEST(Losses, NllOfLogSoftmaxEqualsCrossEntropy) {
  const Tensor log_probs = kLogits - kLogits.logsumexp({1}, true);
  EXPECT_NEAR(nn::nll_loss(log_probs, kLabels).item(), nn::cross_entropy(kLogits, kLabels).item(), 1e-14);
}

TEST(Losses, MseAndBinaryCrossEntropy) {
  EXPECT_DOUBLE_EQ(nn::mse_loss(tensor({1.0, 3.0}, kFloat64), tensor({2.0, 1.0}, kFloat64)).item(), 2.5);
  const Tensor targets = tensor({1.0, 0.0, 0.3, 0.0, 1.0, 0.5}, kFloat64).reshape({2, 3});
  EXPECT_NEAR(nn::binary_cross_entropy_with_logits(kLogits * 10.0, targets).item(), 6.5333255548181235, 1e-13);
}

TEST(Losses, LabelOutOfRangeNamesLabelAndClassCount) {
  try {
    nn::cross_entropy(kLogits, from_vector<std::int64_t>({1, 3}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("target[1] = 3"), std::string::npos) << message;
    EXPECT_NE(message.find("3 classes"), std::string::npos) << message;
  }
  EXPECT_THROW(nn::nll_loss(kLogits, from_vector<std::int64_t>({-1, 0})), Error);
  EXPECT_THROW(nn::cross_entropy(kLogits, tensor({1.0, 2.0})), Error);  // float labels
}
