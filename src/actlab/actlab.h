// actlab: tensors, autograd, activations, layers, optimizers, data and the training loop.
#pragma once

#include "actlab/activations/activation.h"
#include "actlab/activations/functional.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/gradcheck.h"
#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/core/tensor.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/nn/nn.h"
#include "actlab/optim/optim.h"
#include "actlab/train/loop.h"
