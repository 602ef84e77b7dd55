#include "actlab/nn/any_module.h"

#include <cstdlib>
#include <cxxabi.h>

namespace actlab::nn {

std::string type_label(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                        &std::free);
  return status == 0 && demangled ? demangled.get() : type.name();
}

}  // namespace actlab::nn
