// Layers, losses, initializers and model builders.
#pragma once

#include "actlab/nn/activation.h"
#include "actlab/nn/functional.h"
#include "actlab/nn/init.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/loss.h"
#include "actlab/nn/models.h"
#include "actlab/nn/module.h"
#include "actlab/nn/recurrent.h"
