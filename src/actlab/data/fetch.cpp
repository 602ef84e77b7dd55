#include "actlab/data/fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "actlab/core/error.h"
#include "actlab/data/cifar.h"
#include "actlab/data/registry.h"

namespace actlab::data {
namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    ACTLAB_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "sha256: OpenSSL init failed");
  }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::atomic<bool> stop_requested{false};

// Removes the temporary files of earlier downloads of `destination` that no live download holds
// locked: those of a download that was killed. A file younger than a few seconds may belong to a
// download that has created it but not locked it yet, so it stays.
void remove_stale_parts(const std::filesystem::path& destination) {
  const std::string prefix = destination.filename().string() + ".";
  const auto young = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(10);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(destination.parent_path(), error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 11 || !name.starts_with(prefix) || !name.ends_with(".part")) continue;
    if (entry.last_write_time(error) > young || error) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) std::filesystem::remove(entry.path(), error);
    ::close(fd);
  }
}

// A temporary file beside `destination`, locked while it exists, removed unless commit() renamed
// it into place.
class PendingFile {
 public:
  explicit PendingFile(const std::filesystem::path& destination) : destination_(destination) {
    std::error_code error;
    std::filesystem::create_directories(destination.parent_path(), error);
    ACTLAB_CHECK(!error, "{}: cannot create the folder {} ({}); check the data dir (--data-dir / ACTLAB_DATA)",
                 destination.string(), destination.parent_path().string(), error.message());
    ACTLAB_CHECK(!std::filesystem::is_directory(destination),
                 "{}: is a directory, where the downloaded file belongs; remove it and fetch again",
                 destination.string());
    remove_stale_parts(destination);
    std::string name = destination.string() + ".XXXXXX.part";
    fd_ = mkstemps(name.data(), 5);
    ACTLAB_CHECK(fd_ >= 0, "{}: cannot create a temporary file in {} ({}; is the data dir writable?)",
                 destination.string(), destination.parent_path().string(), std::strerror(errno));
    path_ = name;
    ::flock(fd_, LOCK_EX | LOCK_NB);  // a new file: no one else can hold it yet
  }
  ~PendingFile() {
    std::error_code ignored;
    if (!committed_) std::filesystem::remove(path_, ignored);  // before the lock goes with the close
    if (fd_ >= 0) ::close(fd_);
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  bool write(const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  // Flushes to disk and renames into place; the directory is synced so the rename persists.
  void commit() {
    ACTLAB_CHECK(::fsync(fd_) == 0 && ::close(fd_) == 0, "{}: cannot flush the download to disk", path_.string());
    fd_ = -1;
    std::error_code error;
    std::filesystem::rename(path_, destination_, error);
    ACTLAB_CHECK(!error, "{}: cannot move the download into place ({})", destination_.string(), error.message());
    committed_ = true;
    if (const int dir = ::open(destination_.parent_path().c_str(), O_RDONLY | O_DIRECTORY); dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::filesystem::path destination_, path_;
  int fd_ = -1;
  bool committed_ = false;
};

struct Transfer {
  PendingFile* file;
  Sha256 sha;
  bool write_failed = false;
  bool show_progress = false;
  std::string label;
  int last_percent = -1;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->sha.update(data, size * count);
  if (!transfer->file->write(data, size * count)) {
    transfer->write_failed = true;
    return 0;
  }
  return size * count;
}

// Called about once a second even when no data arrives, so a stop request ends a stalled transfer.
int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (stop_requested.load()) return 1;  // curl aborts the transfer
  if (!transfer->show_progress || total <= 0) return 0;
  const int percent = static_cast<int>(100 * now / total);
  if (percent == transfer->last_percent) return 0;
  transfer->last_percent = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r  %-32s [%s%s] %3d%% %6.1f / %.1f MB", transfer->label.c_str(),
               std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(), percent, now / 1e6,
               total / 1e6);
  if (percent == 100) std::fputc('\n', stderr);
  return 0;
}

void ensure_curl_initialised() {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  ACTLAB_CHECK(initialised, "fetch: libcurl failed to initialise");
}

std::string mirror_of(const FetchOptions& options) {
  if (!options.mirror.empty()) return options.mirror;
  const char* env = std::getenv("ACTLAB_DATA_MIRROR");
  return env ? env : "";
}

std::string join_url(std::string base, std::string_view path) {
  if (!base.empty() && base.back() != '/') base += '/';
  return base + std::string(path);
}

// Where to put files by hand, for error messages.
std::string manual_instructions(const DatasetSpec& spec, const std::filesystem::path& data_dir) {
  if (!spec.archive.empty())
    return fmt::format("download {} by hand and put it at {} (or extract it there)", spec.upstream,
                       (data_dir / spec.archive).string());
  std::string files;
  for (const DataFile& file : spec.files)
    files += fmt::format("\n  {}{}  ->  {}", spec.upstream, std::filesystem::path(file.path).filename().string(),
                         (data_dir / file.path).string());
  return "download these files by hand:" + files;
}

// Checks every member of the CIFAR archive against the sums of the extracted files.
void verify_archive_members(const std::filesystem::path& archive, const DatasetSpec& spec, const std::string& url) {
  std::vector<std::string> members;
  for (const DataFile& file : spec.files) members.push_back(file.path.substr(spec.folder.size() + 1));
  const auto contents = read_archive_members(archive, members);
  for (const DataFile& file : spec.files) {
    const std::string member = file.path.substr(spec.folder.size() + 1);
    const auto it = contents.find(member);
    ACTLAB_CHECK(it != contents.end(), "{}: the archive lacks {}; the server sent a different file", url, member);
    const std::string found = sha256_hex(it->second);
    ACTLAB_CHECK(found == file.sha256, "{}: member {} has SHA-256 {}, expected {}; the download is corrupt", url,
                 member, found, file.sha256);
  }
}

}  // namespace

void request_fetch_stop() { stop_requested.store(true); }

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  ACTLAB_CHECK(in, "{}: cannot open the file to check its SHA-256", path.string());
  Sha256 sha;
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0)
    sha.update(chunk.data(), static_cast<std::size_t>(in.gcount()));
  return sha.hex();
}

void download_file(const std::string& url, const std::filesystem::path& destination, std::string_view sha256,
                   const FetchOptions& options) {
  ensure_curl_initialised();
  PendingFile file(destination);
  Transfer transfer{&file, {}, false, options.progress, destination.filename().string(), -1};
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  ACTLAB_CHECK(curl != nullptr, "fetch: libcurl could not create a transfer");
  char curl_error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, options.low_speed_bytes);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, options.low_speed_seconds);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, options.timeout_seconds);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &transfer);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    if (transfer.write_failed) fail("{}: cannot write the download (disk full?)", file.path().string());
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
      fail("{}: the server answered HTTP {}; check the URL or the mirror (--mirror / ACTLAB_DATA_MIRROR)", url, status);
    if (rc == CURLE_ABORTED_BY_CALLBACK && stop_requested.load())
      fail("{}: download interrupted; nothing was written to {}", url, destination.string());
    double connected = 0, seconds = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_CONNECT_TIME, &connected);
    curl_easy_getinfo(curl.get(), CURLINFO_TOTAL_TIME, &seconds);
    if (rc == CURLE_OPERATION_TIMEDOUT && connected > 0) {
      if (options.timeout_seconds > 0 && seconds >= static_cast<double>(options.timeout_seconds) - 0.5)
        fail("{}: the download did not finish within the total timeout of {} s (raise it with --timeout); nothing "
             "was written to {}", url, options.timeout_seconds, destination.string());
      fail("{}: the download stalled: less than {} bytes/s for {} s (change the limits with --min-speed and "
           "--stall-timeout); nothing was written to {}",
           url, options.low_speed_bytes, options.low_speed_seconds, destination.string());
    }
    fail("{}: download failed ({}). Without network access, put the file by hand at {}, or point --mirror / "
         "ACTLAB_DATA_MIRROR at a server with the same layout",
         url, *curl_error ? curl_error : curl_easy_strerror(rc), destination.string());
  }
  if (!sha256.empty()) {
    const std::string found = transfer.sha.hex();
    ACTLAB_CHECK(found == sha256,
                 "{}: SHA-256 mismatch: expected {}, found {}; the download is corrupt or is not the upstream file. "
                 "Nothing was written to {}; try again or use another mirror",
                 url, sha256, found, destination.string());
  }
  file.commit();
}

FetchResult fetch_dataset(std::string_view name, const FetchOptions& options) {
  const DatasetSpec& spec = dataset_spec(name);
  const DataDir dir = resolve_data_dir(options.data_dir);
  ACTLAB_CHECK(!std::filesystem::exists(dir.path) || std::filesystem::is_directory(dir.path),
               "the data dir {} (from {}) is a file, not a folder; give a folder with --data-dir", dir.path.string(),
               dir.origin);
  ACTLAB_CHECK(!spec.files.empty(), "dataset '{}' has no pinned checksums, so actlab does not fetch it: {}", name,
               manual_instructions(spec, dir.path));
  FetchResult result;
  const std::string mirror = mirror_of(options);
  const auto present = [&](const std::filesystem::path& path, const std::string& sum) {
    return !options.force && std::filesystem::exists(path) && sha256_file(path) == sum;
  };
  try {
    if (!spec.archive.empty() && mirror.empty()) {
      // Upstream ships one archive; it is kept and read in place.
      const std::filesystem::path archive = dir.path / spec.archive;
      bool complete = true;
      for (const DataFile& file : spec.files) complete = complete && present(dir.path / file.path, file.sha256);
      if (complete || (!options.force && std::filesystem::exists(archive))) {
        if (!complete) verify_archive_members(archive, spec, archive.string());
        result.already_present.push_back(complete ? dir.path / spec.folder : archive);
        return result;
      }
      const std::filesystem::path staging = archive.string() + ".download";
      download_file(spec.upstream, staging, {}, options);
      try {
        verify_archive_members(staging, spec, spec.upstream);
      } catch (...) {
        std::filesystem::remove(staging);
        throw;
      }
      std::filesystem::rename(staging, archive);
      result.downloaded.push_back(archive);
      return result;
    }
    for (const DataFile& file : spec.files) {
      const std::filesystem::path destination = dir.path / file.path;
      if (present(destination, file.sha256)) {
        result.already_present.push_back(destination);
        continue;
      }
      const std::string url = mirror.empty() ? join_url(spec.upstream, destination.filename().string())
                                             : join_url(mirror, file.path);
      download_file(url, destination, file.sha256, options);
      result.downloaded.push_back(destination);
    }
  } catch (const Error& e) {
    throw Error(fmt::format("{}\nTo install '{}' without this command, {}", e.what(), name,
                            manual_instructions(spec, dir.path)));
  }
  return result;
}

}  // namespace actlab::data
