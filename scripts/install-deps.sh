#!/usr/bin/env bash
# Installs the Debian packages actlab needs, if any are missing (apt-get when root, sudo otherwise).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-openmp-dev zlib1g-dev libpng-dev libarchive-dev libcurl4-openssl-dev libssl-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  libcpp-httplib-dev
)
# The Python module (-DACTLAB_PYTHON=ON), its tests and the example notebook.
packages+=(python3-dev pybind11-dev python3-numpy python3-pandas python3-pytest jupyter-nbconvert python3-ipykernel)
if [[ "${ACTLAB_WITH_PEER:-0}" == 1 ]]; then packages+=(python3-torch); fi
# The TensorBoard test decodes the event files with an independent reader.
packages+=(python3-protobuf python3-crc32c)
# The report's chart library is installed from npm at build time.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
# The report test loads report.html in headless Chromium.
if [[ "${ACTLAB_WITH_BROWSER:-0}" == 1 ]]; then packages+=(chromium); fi
# CI builds the same objects twice (Ninja, then Makefiles); ccache compiles them once.
if [[ "${ACTLAB_WITH_CCACHE:-0}" == 1 ]]; then packages+=(ccache); fi
# scripts/cross-test-aarch64.sh: the cross compiler, qemu, and the arm64 libraries of the core.
if [[ "${ACTLAB_WITH_ARM:-0}" == 1 ]]; then
  packages+=(g++-aarch64-linux-gnu qemu-user libopenblas-openmp-dev:arm64 libfmt-dev:arm64 libgtest-dev:arm64)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "actlab: installing missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  apt=(apt-get)
elif command -v sudo >/dev/null; then
  apt=(sudo apt-get)
else
  echo "actlab: missing packages and no root: install them with" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [[ "${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${apt[@]/apt-get/dpkg}" --add-architecture arm64  # dpkg, with sudo where apt-get has it
fi
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
