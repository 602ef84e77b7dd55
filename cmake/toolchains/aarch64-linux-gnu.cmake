# Cross-compiling actlab for aarch64 Linux on a Debian x86-64 host, against the host's arm64
# multiarch packages (scripts/install-deps.sh installs them with ACTLAB_WITH_ARM=1):
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# Test programs run under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR), so gtest discovery and
# ctest work as in a native build; scripts/cross-test-aarch64.sh does all of it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and CMake package files in /usr/lib/aarch64-linux-gnu, never the host's x86-64 ones.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config: the arm64 .pc files, and the architecture-independent ones (header-only libraries).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# The program runs against the arm64 multiarch libc6 (which the arm64 packages bring), from its
# own loader: with `-L /usr/aarch64-linux-gnu` qemu would take the cross toolchain's loader, and
# that one, with libc6:arm64's libc of another build, hangs at the first thread.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
