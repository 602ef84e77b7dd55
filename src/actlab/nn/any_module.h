// AnyModule: a module of any forward signature behind one type, as LibTorch's.
//
// AnyModule(std::make_shared<M>(...)) reads M's signature from its operator() (Module's
// `Tensor operator()(const Tensor&)` for Tensor -> Tensor modules; a module of another signature
// declares its own, see module.h) and calls it with a type-erased value:
//   - a value of the argument type, when M takes one argument;
//   - a std::tuple (or std::pair) of all the arguments;
//   - the first argument alone, when the others are std::optional (they get std::nullopt).
// The result comes back as a std::any holding exactly what M's operator() returns; hooks run as
// for any call of the module.
//
// Requires: M derives from Module and has exactly one operator() (overloads cannot be told apart).
// Throws Error naming the module, the types it takes and the type it was given, when the value
// fits none of the ways above.
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "actlab/nn/module.h"

namespace actlab::nn {

// Readable name of a type ("std::tuple<actlab::Tensor, actlab::Tensor>").
std::string type_label(const std::type_info& type);

namespace detail {

template <typename Call>
struct CallSignature;
template <typename C, typename R, typename... A>
struct CallSignature<R (C::*)(A...)> {
  using Arguments = std::tuple<std::decay_t<A>...>;
};

// The arguments of a call taking `Arguments` built from `value`, or nullopt when it does not fit.
template <typename... A>
std::optional<std::tuple<A...>> arguments_from(const std::any& value) {
  if (const auto* all = std::any_cast<std::tuple<A...>>(&value)) return *all;
  if constexpr (sizeof...(A) == 1) {
    if (const auto* single = std::any_cast<A...>(&value)) return std::tuple<A...>(*single);
  }
  if constexpr (sizeof...(A) == 2) {
    if (const auto* pair = std::any_cast<std::pair<A...>>(&value)) return std::tuple<A...>(pair->first, pair->second);
  }
  return std::nullopt;
}

// The first argument alone, the others std::optional and left empty.
template <typename First, typename... Rest>
std::optional<std::tuple<First, Rest...>> leading_argument_from(const std::any& value) {
  if constexpr (sizeof...(Rest) > 0 && (is_instance_of<Rest, std::optional> && ...)) {
    if (const auto* first = std::any_cast<First>(&value)) return std::tuple<First, Rest...>(*first, Rest{}...);
  }
  return std::nullopt;
}

template <typename... A>
std::string argument_labels(std::tuple<A...>*) {
  std::string out;
  ((out += (out.empty() ? "" : ", ") + type_label(typeid(A))), ...);
  return out;
}

}  // namespace detail

class AnyModule {
 public:
  template <typename M>
    requires std::is_base_of_v<Module, M>
  AnyModule(std::shared_ptr<M> module)  // NOLINT(google-explicit-constructor): Sequential{a, b} reads best
      : module_(module) {
    ACTLAB_CHECK(module != nullptr, "AnyModule: the module is null; pass one made with std::make_shared");
    using Arguments = typename detail::CallSignature<decltype(&M::operator())>::Arguments;
    call_ = [module](const std::any& value) { return call(*module, value, static_cast<Arguments*>(nullptr)); };
  }

  // Calls the module with `input` (see the top of this file) and returns its result.
  std::any operator()(const std::any& input) const { return call_(input); }

  const std::shared_ptr<Module>& ptr() const { return module_; }
  Module& operator*() const { return *module_; }
  Module* operator->() const { return module_.get(); }

 private:
  template <typename M, typename... A>
  static std::any call(M& module, const std::any& value, std::tuple<A...>*) {
    static_assert(sizeof...(A) > 0, "AnyModule: the module's operator() takes no arguments");
    auto arguments = detail::arguments_from<A...>(value);
    if (!arguments) arguments = detail::leading_argument_from<A...>(value);
    ACTLAB_CHECK(arguments.has_value(),
                 "Module '{}' takes ({}) but was given {}; give it that type, a tuple of its arguments, or its first "
                 "argument when the others are std::optional",
                 module.type_name(), detail::argument_labels(static_cast<std::tuple<A...>*>(nullptr)),
                 value.has_value() ? type_label(value.type()) : "nothing");
    return std::apply([&module](const auto&... a) { return module(a...); }, *arguments);
  }

  std::shared_ptr<Module> module_;
  std::function<std::any(const std::any&)> call_;
};

}  // namespace actlab::nn
