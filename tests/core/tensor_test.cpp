// Tensor creation, views, element access, printing, errors and random numbers.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <sstream>

#include "actlab/actlab.h"

namespace actlab {
namespace {

using testing::error_of;

TEST(Creation, FillsAndShapes) {
  EXPECT_EQ(zeros({2, 3}).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({4}, kFloat64).to_vector<double>(), std::vector<double>(4, 1.0));
  EXPECT_EQ(full({2}, 7, kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 7}));
  EXPECT_EQ(arange(5).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1.0, 2.0, 0.25).to_vector<float>(), (std::vector<float>{1, 1.25, 1.5, 1.75}));
  const Tensor t = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.strides(), (Strides{3, 1}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.at<float>({1, 2}), 6.0f);
  EXPECT_EQ(t.at<float>({-1, 0}), 4.0f);
  EXPECT_DOUBLE_EQ(scalar_tensor(2.5).item(), 2.5);
  EXPECT_EQ(scalar_tensor(3, kUInt8).dtype(), kUInt8);
}

TEST(Creation, ErrorsNameTheProblem) {
  EXPECT_NE(error_of([] { from_vector<float>({1, 2, 3}, {2, 2}); }).find("3 values do not fill shape [2,2]"),
            std::string::npos);
  EXPECT_NE(error_of([] { zeros({2, 2}).at<float>({2, 0}); }).find("index 2 is out of range"), std::string::npos);
  EXPECT_NE(error_of([] { zeros({2, 2}).data<double>(); }).find("tensor holds float32"), std::string::npos);
  EXPECT_NE(error_of([] { zeros({3}).item(); }).find("needs exactly 1"), std::string::npos);
  EXPECT_NE(error_of([] { zeros({3}).size(2); }).find("dim 2 is out of range"), std::string::npos);
}

TEST(Views, ShareStorageAndIndexCorrectly) {
  const Tensor t = arange(0.0, 24.0, 1.0, kFloat32).reshape({2, 3, 4});
  const Tensor p = t.permute({2, 0, 1});
  EXPECT_TRUE(p.shares_storage_with(t));
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.at<float>({3, 1, 2}), t.at<float>({1, 2, 3}));

  const Tensor s = t.select(1, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 4}));
  EXPECT_EQ(s.at<float>({1, 1}), 21.0f);

  const Tensor n = t.narrow(2, 1, 2);
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}));
  EXPECT_EQ(t.slice(2, 0, 4, 3).to_vector<float>(), (std::vector<float>{0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23}));
  EXPECT_EQ(t.slice(0, -1, 2).shape(), (Shape{1, 3, 4}));

  const Tensor e = from_vector<float>({1, 2, 3}, {3, 1}).expand({2, 3, 4});
  EXPECT_EQ(e.strides(), (Strides{0, 1, 0}));
  EXPECT_EQ(e.at<float>({1, 2, 3}), 3.0f);

  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(ones({1, 3, 1}).squeeze().shape(), (Shape{3}));
  EXPECT_EQ(ones({1, 3, 1}).squeeze(0).shape(), (Shape{3, 1}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
}

TEST(Views, ReshapeCopiesOnlyWhenNeeded) {
  const Tensor t = arange(0.0, 12.0, 1.0, kFloat32).reshape({3, 4});
  EXPECT_TRUE(t.reshape({4, -1}).shares_storage_with(t));
  EXPECT_TRUE(t.reshape({4, -1}).shape() == (Shape{4, 3}));
  const Tensor tt = t.t();
  EXPECT_FALSE(tt.reshape({12}).shares_storage_with(t));
  EXPECT_EQ(tt.reshape({12}).to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  // Splitting a dim of a transposed tensor is still a view.
  EXPECT_TRUE(tt.view({2, 2, 3}).shares_storage_with(t));
  EXPECT_NE(error_of([&] { tt.view({12}); }).find("use reshape()"), std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({5, -1}); }).find("invalid for input of shape [3,4]"), std::string::npos);
  EXPECT_EQ(tt.contiguous().strides(), (Strides{3, 1}));
}

TEST(Views, WritesThroughAViewReachTheBase) {
  Tensor t = zeros({3, 4});
  t.select(0, 1).fill_(2.0);
  t.narrow(1, 3, 1).add_(1.0);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 2, 2, 2, 3, 0, 0, 0, 1}));
}

TEST(Conversion, ToAndClone) {
  const Tensor f = from_vector<float>({1.7f, -2.2f, 3.0f});
  EXPECT_EQ(f.to(kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(f.to(kFloat64).dtype(), kFloat64);
  Tensor c = f.clone();
  c.fill_(0);
  EXPECT_EQ(f.to_vector<float>()[0], 1.7f);
}

TEST(Printing, ShowsValuesAndDtype) {
  std::ostringstream os;
  os << from_vector<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(os.str(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float32)");
  EXPECT_EQ(arange(3).to_string(), "tensor([0, 1, 2], dtype=int64)");
  EXPECT_NE(zeros({2000}).to_string().find("..."), std::string::npos);
}

TEST(Random, SameSeedSameNumbersOnAnyThreadCount) {
  const int saved = num_threads();
  Generator g1(42);
  set_num_threads(1);
  const auto a = randn({300000}, g1).to_vector<float>();
  set_num_threads(2);
  Generator g2(42);
  const auto b = randn({300000}, g2).to_vector<float>();
  set_num_threads(saved);
  EXPECT_EQ(a, b);
  Generator g3(43);
  EXPECT_NE(randn({8}, g3).to_vector<float>(), std::vector<float>(a.begin(), a.begin() + 8));
}

TEST(Random, DistributionsHaveTheRightMoments) {
  Generator gen(1);
  const Tensor n = randn({200000}, gen, kFloat64);
  EXPECT_NEAR(n.mean().item(), 0.0, 0.01);
  EXPECT_NEAR(n.std().item(), 1.0, 0.01);
  const Tensor u = rand({200000}, gen);
  EXPECT_NEAR(u.mean().item(), 0.5, 0.01);
  EXPECT_GE(u.min().item(), 0.0);
  EXPECT_LT(u.max().item(), 1.0);
  const Tensor r = randint(3, 7, {10000}, gen);
  EXPECT_EQ(r.min().item(), 3.0);
  EXPECT_EQ(r.max().item(), 6.0);
  auto perm = randperm(100, gen).to_vector<std::int64_t>();
  std::sort(perm.begin(), perm.end());
  EXPECT_EQ(perm, arange(100).to_vector<std::int64_t>());
}

TEST(Random, GeneratorStateRestoresTheStream) {
  Generator gen(5);
  randn({10}, gen);
  const auto seed = gen.seed();
  const auto offset = gen.offset();
  const auto expected = rand({7}, gen).to_vector<float>();
  Generator restored;
  restored.set_state(seed, offset);
  EXPECT_EQ(rand({7}, restored).to_vector<float>(), expected);
}

TEST(Allocator, ReusesFreedBuffers) {
  release_cached_buffers();
  const void* first = nullptr;
  {
    const Tensor big = empty({1 << 20});
    first = big.raw_data();
  }
  EXPECT_GE(cached_buffer_bytes(), std::size_t{4} << 20);
  const Tensor again = empty({1 << 20});
  EXPECT_EQ(again.raw_data(), first);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(again.raw_data()) % 64, 0u);
}

TEST(Allocator, AdoptedMemoryGoesBackToItsOwner) {
  float values[4] = {1, 2, 3, 4};
  const std::shared_ptr<void> owner(values, [](void*) {});
  {
    auto impl = std::make_shared<TensorImpl>();
    impl->shape = {2, 2};
    impl->strides = {2, 1};
    Buffer buffer = adopt_buffer(reinterpret_cast<std::byte*>(values), sizeof values, owner);
    impl->storage = std::make_shared<Storage>(Storage{std::move(buffer), sizeof values});
    const Tensor t(impl);
    EXPECT_EQ(t.sum().item(), 10.0);
    values[3] = 40;  // a write by the owner is seen: no copy
    EXPECT_EQ(t.at<float>({1, 1}), 40.0f);
  }
  EXPECT_EQ(owner.use_count(), 1);  // the tensor let go of its owner, and freed nothing (values is on the stack)
}

}  // namespace
}  // namespace actlab
