// libFuzzer target: the safetensors reader must reject any malformed file with actlab::Error,
// never crash, read out of bounds or allocate more than the file's data region holds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "actlab/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto contents = actlab::io::decode_safetensors(std::string_view(reinterpret_cast<const char*>(data), size));
    // What was accepted must encode and decode back to the same tensors.
    const auto again = actlab::io::decode_safetensors(actlab::io::encode_safetensors(contents.tensors, contents.metadata));
    if (again.tensors.size() != contents.tensors.size() || again.metadata != contents.metadata) __builtin_trap();
  } catch (const actlab::Error&) {
  }
  return 0;
}
