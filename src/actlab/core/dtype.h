// Element types and compile-time dispatch over them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "actlab/core/error.h"

namespace actlab {

enum class DType : std::uint8_t { Float32, Float64, Int64, UInt8 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kUInt8 = DType::UInt8;

constexpr std::size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

constexpr bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::UInt8; }

// Calls fn.template operator()<T>() with T the C++ type of `dtype`.
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    case DType::Int64: return fn.template operator()<std::int64_t>();
    case DType::UInt8: return fn.template operator()<std::uint8_t>();
  }
  fail("unknown dtype");
}

// Like dispatch_all, for ops defined on float32/float64 only; `op` names the op in the error.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    default:
      fail("{}: needs a float32 or float64 tensor, got {} (convert with .to(actlab::kFloat32))", op,
           dtype_name(dtype));
  }
}

}  // namespace actlab

template <>
struct fmt::formatter<actlab::DType> : fmt::formatter<std::string_view> {
  auto format(actlab::DType d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(actlab::dtype_name(d), ctx);
  }
};
