#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds examples/ against it as an outside project
# (find_package(actlab), CMake's default generator) and runs the XOR example; then builds a
# program with `pkg-config --cflags --libs actlab` alone and runs it; with PYTHON and the Python
# package's folder under the prefix, imports the installed package from there.
# Usage: install_test.sh CMAKE BUILD_DIR EXAMPLES_DIR [PYTHON PYTHON_DIR]
set -euo pipefail
cmake=$1 build=$2 examples=$3 python=${4:-} python_dir=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/actlab"
"$work/prefix/bin/actlab" --version

"$cmake" -S "$examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/examples" -j2 >/dev/null
"$work/examples/xor" | tail -1

libdir=$(dirname "$(find "$work/prefix" -name actlab.pc)")
cat > "$work/pc.cpp" <<'CPP'
#include <actlab/actlab.h>
int main() {
  const actlab::Tensor x = actlab::from_vector<float>({-1, 2}, {2});
  const actlab::Tensor y = actlab::make_activation("relu")->forward(x);
  return y.at<float>({0}) == 0 && y.at<float>({1}) == 2 ? 0 : 1;
}
CPP
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
c++ -std=c++20 -o "$work/pc" "$work/pc.cpp" $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs actlab)
"$work/pc"
if [[ -n "$python" ]]; then
  PYTHONPATH="$work/prefix/$python_dir" "$python" -c \
    "import actlab, sys; assert actlab.__file__.startswith(sys.argv[1]), actlab.__file__; print(actlab.activations.relu([-1.0, 2.0]))" \
    "$work/prefix"
fi
echo "installed package, find_package and pkg-config: ok"
