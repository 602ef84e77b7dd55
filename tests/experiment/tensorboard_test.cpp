// TensorBoard event files: CRC-32C and its TFRecord masking against published test vectors, a full
// disk as an error, and the files of a tiny compare run, killed twice and resumed, decoded by an
// independent reader (tensorboard_reader.py: python3-protobuf, python3-crc32c) that checks every
// value against the metrics files and that no step is lost or doubled.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <string>

#include "actlab/core/error.h"
#include "actlab/io/event_file.h"
#include "child_process.h"

namespace actlab {
namespace {

namespace fs = std::filesystem;
using test::Child;

std::string hex(std::string_view bytes) {
  std::string out;
  for (char c : bytes) out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  return out;
}

TEST(TensorBoard, Crc32cMatchesPublishedVectors) {
  EXPECT_EQ(io::crc32c("123456789"), 0xe3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(io::crc32c(""), 0u);
  // RFC 3720 (iSCSI), B.4: 32 bytes of zeros, of ones, ascending and descending.
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += static_cast<char>(i);
    descending += static_cast<char>(31 - i);
  }
  EXPECT_EQ(io::crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(io::crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(io::crc32c(ascending), 0x46dd794eu);
  EXPECT_EQ(io::crc32c(descending), 0x113fdb5cu);
}

// Expected values from python3-crc32c and TFRecord's mask ((c >> 15 | c << 17) + 0xa282ead8).
TEST(TensorBoard, MaskedCrcAndRecordFraming) {
  EXPECT_EQ(io::mask_crc32c(0), 0xa282ead8u);
  EXPECT_EQ(io::mask_crc32c(0xe3069283u), 0xc78ab0e5u);
  EXPECT_EQ(io::mask_crc32c(0x8a9136aau), 0x0fd7fffau);
  EXPECT_EQ(io::mask_crc32c(0x62a8ab43u), 0xf909b029u);
  // "abc": its length (8 bytes), the masked CRC of those, the data, the masked CRC of the data.
  EXPECT_EQ(hex(io::tfrecord("abc")), "0300000000000000" "b099490e" "616263" "6e57f121");
}

TEST(TensorBoard, AFullDiskIsAnErrorNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  io::EventFile file("/dev/full");
  try {
    file.write(io::file_version_event(0));
    FAIL() << "a write to a full disk must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
}

// Runs the reader on the event files in `events` and the experiment in `out` into `reading`;
// skips the test where it cannot run (no python3-protobuf or python3-crc32c).
void read_back(const fs::path& events, const fs::path& out, const fs::path& output, std::string& reading) {
  const std::string script = std::string(ACTLAB_SOURCE_DIR) + "/tests/experiment/tensorboard_reader.py";
  Child reader({script, events.string(), out.string()}, output, {}, "/usr/bin/python3");
  const int status = reader.wait();
  reading = reader.output();
  if (status == 77 || status == 127) GTEST_SKIP() << "the reader cannot run here: " << reading;
  EXPECT_EQ(status, 0) << reading;
}

// Two arms of 2 epochs of 50 steps, logged every 10, a snapshot every 20, a checkpoint every 25.
// The first process is killed after step 45 (its checkpoint is at 25, so steps 26-45 are written
// again), the second at its first evaluation (resumed at step 50, before epoch 1 was evaluated).
TEST(TensorBoard, EventsOfAKilledAndResumedRunReadBackAsItsMetrics) {
  const fs::path dir = fs::temp_directory_path() / ("actlab_tensorboard_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "out", events = dir / "tb", log = dir / "log.txt";
  const std::vector<std::string> args = {
      "compare", "--data", "spirals", "--model", "mlp:16x2", "--activations", "relu,tanh", "--epochs", "2", "--batch",
      "64", "--threads", "1", "--checkpoint-every", "25", "--diagnostics-every", "20", "--log-every", "10", "--out",
      out.string(), "--tensorboard", events.string()};
  const std::vector<std::string> resume = {"compare", "--resume", out.string()};
  Child first(args, log, {"ACTLAB_FAILPOINT=loop.step-end:45"});
  ASSERT_EQ(first.wait(), 128 + SIGKILL) << first.output();
  Child second(resume, log, {"ACTLAB_FAILPOINT=loop.evaluation:1"});
  ASSERT_EQ(second.wait(), 128 + SIGKILL) << second.output();
  Child last(resume, log, {"ACTLAB_FAILPOINT"});
  ASSERT_EQ(last.wait(), 0) << last.output();

  std::string reading;
  read_back(events, out, dir / "reader.txt", reading);
  if (::testing::Test::IsSkipped()) return;
  // The killed run went on twice, each time in a new file.
  EXPECT_NE(reading.find("relu-seed1: 3 event file(s)"), std::string::npos) << reading;
  EXPECT_NE(reading.find("tanh-seed1: 1 event file(s)"), std::string::npos) << reading;

  // Another experiment into the same folder is refused before training, and replaces it when asked.
  std::vector<std::string> again = args;
  again[again.size() - 3] = (dir / "out2").string();
  Child refused(again, log);
  EXPECT_NE(refused.wait(), 0);
  EXPECT_NE(refused.output().find("already holds the TensorBoard events"), std::string::npos) << refused.output();
  again.push_back("--overwrite");
  Child replaced(again, log);
  ASSERT_EQ(replaced.wait(), 0) << replaced.output();
  read_back(events, dir / "out2", dir / "reader.txt", reading);
  EXPECT_NE(reading.find("relu-seed1: 1 event file(s)"), std::string::npos) << reading;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace actlab
