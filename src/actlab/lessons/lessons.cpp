// The lessons, in teaching order: each is its name, the conclusions its experiment can reach and
// the experiment; its words are lessons/<lang>/<name>.md.
#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/error.h"
#include "actlab/lessons/experiments.h"

namespace actlab::lessons {

const std::vector<Lesson>& lessons() {
  static const std::vector<Lesson> all = {
      {"no-activation", {"collapse", "no_collapse", "linear_fails", "linear_unexpected", "relu_fixes", "relu_short"},
       no_activation},
      {"chain-rule", {"agree", "disagree"}, chain_rule},
      {"activation-pros-cons",
       {"sigmoid_quarter", "sigmoid_not_quarter", "saturating_fade", "saturating_keep", "accuracy_gap", "accuracy_close"},
       activation_pros_cons},
      {"learning-rate", {"too_high", "high_survived", "too_low", "low_moved", "ratio_near_rule", "ratio_far"},
       learning_rate},
      {"vanishing-exploding",
       {"sigmoid_vanishes", "sigmoid_keeps", "depth_worsens", "depth_irregular", "tanh_grows", "tanh_steady",
        "relu_keeps", "relu_drifts"},
       vanishing_exploding},
      {"conv-activation",
       {"activation_helps", "activation_close", "relu_sparse", "relu_dense", "negatives_kept", "negatives_rare"},
       conv_activation},
      {"dead-relu",
       {"high_kills", "high_spares", "leaky_elu_alive", "leaky_elu_dead", "lower_rate_helps", "lower_rate_no_help",
        "he_helps", "he_no_help"},
       dead_relu},
      {"exploding-remedies",
       {"base_trains", "base_fails", "clip_works", "clip_fails", "batchnorm_works", "batchnorm_fails", "lower_lr_works",
        "lower_lr_fails", "he_works", "he_fails"},
       exploding_remedies},
      {"myths",
       {"sigmoid_claim_false", "sigmoid_claim_true", "relu_claim_false", "relu_claim_true", "weights_explode",
        "weights_tame", "swap_vanishes", "swap_explodes", "swap_balanced", "dropout_helps", "dropout_no_help",
        "batchnorm_helps", "batchnorm_no_help"},
       myths},
      {"recurrent",
       {"rnn_vanishes_faster", "rnn_not_faster", "rnn_learns", "rnn_stuck", "lstm_learns", "lstm_stuck", "gru_learns",
        "gru_stuck", "gated_reach_further", "horizons_close"},
       recurrent},
  };
  return all;
}

const Lesson& lesson(const std::string& name) {
  std::vector<std::string> names;
  for (const Lesson& l : lessons()) {
    if (l.name == name) return l;
    names.push_back(l.name);
  }
  fail("lesson {}: there is no such lesson; choose one of {} (actlab lesson lists them)", name, fmt::join(names, ", "));
}

Findings run_lesson(const Lesson& lesson, const LessonOptions& options) {
  Findings findings = lesson.run(options);
  for (const std::string& conclusion : findings.conclusions)
    ACTLAB_CHECK(std::find(lesson.conclusions.begin(), lesson.conclusions.end(), conclusion) != lesson.conclusions.end(),
                 "lesson {}: the experiment chose the conclusion {}, which the lesson does not declare", lesson.name,
                 conclusion);
  return findings;
}

}  // namespace actlab::lessons
