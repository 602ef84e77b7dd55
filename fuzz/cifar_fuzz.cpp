// libFuzzer target: the CIFAR record parser and the class-name parser must either parse or throw
// actlab::Error. The first byte picks CIFAR-10 or CIFAR-100.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actlab/data/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using actlab::data::CifarVariant;
  const CifarVariant variant = data[0] & 1 ? CifarVariant::Cifar100 : CifarVariant::Cifar10;
  const std::int64_t classes = actlab::data::cifar_layout(variant).num_classes;
  try {
    actlab::data::parse_cifar({data + 1, size - 1}, variant, std::vector<std::string>(classes, "c"), "fuzz",
                              "fuzz input");
  } catch (const actlab::Error&) {
  }
  try {
    actlab::data::parse_class_names({reinterpret_cast<const char*>(data), size}, classes, "fuzz input");
  } catch (const actlab::Error&) {
  }
  return 0;
}
