// Failpoints: named places where a test can make the program die as a power cut or `kill -9`
// would, to prove that nothing is lost at that point.
//
// ACTLAB_FAILPOINT="name:N" makes the N-th pass through failpoint("name") raise SIGKILL
// (N >= 1). Unset, a failpoint costs one predictable branch. The names in use:
//   atomic-write.before-rename   a file's new contents are written but not yet in place
//   loop.step-end                after a training step and its observers (checkpoints included)
//   loop.evaluation              at the start of an epoch's evaluation
//   run.finished                 a run's final state is saved, its summary not yet written
//   run.summarized               a run's summary is written, its checkpoint not yet removed
#pragma once

#include <string_view>

namespace actlab {

void failpoint(std::string_view name);

}  // namespace actlab
