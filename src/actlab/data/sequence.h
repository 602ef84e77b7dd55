// Sequence tasks generated from a seed, with their published definitions, for recurrent networks.
//
// Inputs are float32 [samples, steps, features]; a sample's draws depend only on (seed, sample),
// so every machine and thread count gives the same set.
//
//   adding:T          Hochreiter & Schmidhuber 1997, as in Le et al. 2015. T steps of 2 features:
//                     a value ~ U[0, 1) and a marker that is 1 at exactly two steps, one drawn
//                     uniformly from the first half [0, T/2), one from the second [T/2, T). Target:
//                     the sum of the two marked values (float32 [samples]), mean squared error.
//                     Predicting 1 always scores Var(u1 + u2) = 1/6 = 0.167. T >= 2.
//   temporal-order:T  Hochreiter & Schmidhuber 1997, as in Pascanu et al. 2013. T one-hot steps of
//                     6 symbols (a, b, c, d distractors, X, Y): two steps, one drawn from
//                     [floor(0.1 T), floor(0.2 T)) and one from [floor(0.5 T), floor(0.6 T)), hold X
//                     or Y, every other step a random distractor. Class (int64): XX 0, XY 1, YX 2,
//                     YY 3; chance is 1/4 (cross-entropy log 4). T >= 10.
//   copy:T            Arjovsky et al. 2016. T + 20 one-hot steps over 10 symbols (0 blank, 1..8
//                     data, 9 delimiter): 10 data symbols ~ U{1..8}, T - 1 blanks, the delimiter,
//                     10 blanks. Target per step (int64 [samples, T + 20]): blank for T + 10 steps,
//                     then the 10 data symbols. The memoryless baseline (blanks, then uniform over
//                     the 8 data symbols) scores a cross-entropy of 10 log 8 / (T + 20). T >= 1.
//
// Errors: make_sequence_task throws Error for an unknown task, samples < 1, or a length below the
// task's minimum, saying what is accepted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/data/dataset.h"

namespace actlab::data {

struct SequenceTaskInfo {
  std::string name;          // "adding"
  std::int64_t min_length;   // smallest T
  std::int64_t features;     // per step
  std::int64_t classes;      // 0: a regression target
  bool per_step;             // a target at every step (copy)
  std::int64_t steps(std::int64_t length) const { return name == "copy" ? length + 20 : length; }
};

// The three tasks above, in documentation order.
const std::vector<SequenceTaskInfo>& sequence_tasks();
// Throws Error listing the known names for an unknown one.
const SequenceTaskInfo& sequence_task(std::string_view name);

Dataset make_sequence_task(std::string_view name, std::int64_t length, std::int64_t samples, std::uint64_t seed);

// The baseline the definitions quote: adding 1/6 (MSE of predicting 1), temporal-order log 4
// (cross-entropy at chance), copy 10 log 8 / (T + 20) (cross-entropy of the memoryless strategy).
double sequence_baseline(std::string_view name, std::int64_t length);

// The permutation of pmnist's 784 pixels: the Fisher-Yates shuffle drawn from Generator(kPermutationSeed).
inline constexpr std::uint64_t kPermutationSeed = 0x5eed;
std::vector<std::int64_t> pixel_permutation(std::int64_t pixels);

// An image set [N, C, H, W] as a sequence [N, 1, C * H * W, 1] of single pixels, in `order`
// (identity when empty). A copy when permuted, else a view.
Dataset as_pixel_sequence(const Dataset& images, const std::vector<std::int64_t>& order);

}  // namespace actlab::data
