// actlab: tensors, autograd, activations, layers, optimizers, data and experiments.
#pragma once

#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/gradcheck.h"
#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/core/tensor.h"
#include "actlab/nn/nn.h"
#include "actlab/optim/optim.h"
