// Optimizers, learning-rate schedules and gradient clipping.
#pragma once

#include "actlab/optim/clip.h"
#include "actlab/optim/optimizer.h"
#include "actlab/optim/schedule.h"
