// libFuzzer target: the IDX parser (raw and gzip) must either parse or throw actlab::Error.
#include <cstddef>
#include <cstdint>

#include "actlab/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const actlab::Tensor t = actlab::data::parse_idx({data, size}, "fuzz input");
    if (t.dim() == 3) {
      // Exercise the image/label pairing too, with the first dimension's labels taken from the data.
      actlab::data::make_idx_dataset(t, t.select(1, 0).select(1, 0).contiguous(), std::vector<std::string>(256, "c"),
                                     "fuzz", "images", "labels");
    }
  } catch (const actlab::Error&) {
  }
  return 0;
}
