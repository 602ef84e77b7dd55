// Downloading datasets: `actlab data fetch NAME`.
//
// Files come from the upstream location, or from a mirror: a base URL serving the data-dir
// layout (mirror/mnist/train-images-idx3-ubyte.gz, mirror/cifar10/cifar-10-batches-bin/...),
// given by FetchOptions::mirror or $ACTLAB_DATA_MIRROR. Every file is checked against its
// pinned SHA-256 (for the CIFAR-10 archive: every member against the extracted files' sums).
//
// Writes are atomic: a download goes to a temporary file (DEST.XXXXXX.part) beside its
// destination, is verified, fsynced and renamed into place; on any failure, a timeout or
// request_fetch_stop() the temporary file is removed, so the destination either holds a verified
// file or is left as it was. A download holds a lock on its temporary file, and the next download
// of the same file removes temporary files that no live download holds (left by a killed one)
// once they are ten seconds old.
//
// Timeouts: a connection must open within connect_timeout_seconds, a transfer slower than
// low_speed_bytes per second for low_speed_seconds is abandoned as stalled, and a whole download
// may take at most timeout_seconds (0: no limit); the error says which limit ended it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actlab::data {

// Lower-case hex SHA-256.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
// Throws Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

struct FetchOptions {
  std::optional<std::filesystem::path> data_dir;  // as for load_dataset
  std::string mirror;                             // empty: $ACTLAB_DATA_MIRROR, else upstream
  bool progress = false;                          // a progress bar on stderr
  bool force = false;                             // download even files already present and valid
  long connect_timeout_seconds = 15;
  long low_speed_bytes = 1024;  // stalled: below this many bytes per second ...
  long low_speed_seconds = 30;  // ... for this long
  long timeout_seconds = 3600;  // the whole download of one file (0: no limit)
};

// Asks a running download to stop (async-signal-safe, for Ctrl-C and SIGTERM handlers): it fails
// within about a second with an Error saying it was interrupted, its temporary file removed.
void request_fetch_stop();

// Downloads `url` to `destination` atomically and checks its SHA-256 (unless `sha256` is
// empty). Throws Error naming the URL and the fix when the server is unreachable, answers with
// an error, stalls or runs past a timeout, when `destination` is a directory, and naming the
// expected and found sums on a mismatch; no file is left behind.
void download_file(const std::string& url, const std::filesystem::path& destination, std::string_view sha256,
                   const FetchOptions& options);

struct FetchResult {
  std::vector<std::filesystem::path> downloaded;
  std::vector<std::filesystem::path> already_present;  // present with the right SHA-256
};

// Fetches every file of a file-backed dataset into the data dir. Files already present with the
// right SHA-256 are kept (unless options.force). Throws for synthetic or unfetchable sets with a
// message saying where to put the files by hand.
FetchResult fetch_dataset(std::string_view name, const FetchOptions& options);

}  // namespace actlab::data
