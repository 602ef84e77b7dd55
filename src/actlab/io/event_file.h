// TensorBoard event files, written without a protobuf library: the TFRecord framing and the few
// messages of TensorBoard's event.proto, summary.proto and tensor.proto that actlab writes.
//
// A record is  uint64 length | uint32 masked CRC32C of the 8 length bytes | data | uint32 masked
// CRC32C of the data, all little endian; masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8.
// The messages, in the proto3 wire format, with their published field numbers:
//   Event             wall_time 1 (double), step 2 (int64), file_version 3 (string),
//                     summary 5 (Summary), session_log 7 (SessionLog)
//   SessionLog        status 1 (enum, START = 1)
//   Summary           value 1 (repeated Summary.Value)
//   Summary.Value     tag 1 (string), simple_value 2 (float), histo 5 (HistogramProto),
//                     tensor 8 (TensorProto), metadata 9 (SummaryMetadata)
//   SummaryMetadata   plugin_data 1 (PluginData: plugin_name 1, content 2)
//   HistogramProto    min 1, max 2, num 3, sum 4, sum_squares 5 (double),
//                     bucket_limit 6, bucket 7 (packed double)
//   TensorProto       dtype 1 (DT_STRING = 7), tensor_shape 2 (empty TensorShapeProto: a scalar),
//                     string_val 8 (bytes)
// Text is a string scalar tensor with plugin "text" (TensorBoard renders it as markdown).
//
// Errors: EventFile throws Error naming the file and the system's reason (a full disk says "No
// space left on device") when it cannot be opened or a record cannot be written whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace actlab::io {

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), and its TFRecord masking.
std::uint32_t crc32c(std::string_view data);
std::uint32_t mask_crc32c(std::uint32_t crc);

// `data` framed as one TFRecord.
std::string tfrecord(std::string_view data);

// TensorBoard's reading of a histogram: bucket i spans [bucket_limit[i-1], bucket_limit[i]],
// the first from `min`, the last up to `max` (its limit is not read).
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit, bucket;
};

// The values of one Summary, added in order; event() serializes them as an Event.
class Summary {
 public:
  Summary& scalar(std::string_view tag, double value);  // stored as float, as TensorBoard's simple_value
  Summary& histogram(std::string_view tag, const Histogram& histogram);
  Summary& text(std::string_view tag, std::string_view markdown);
  bool empty() const { return values_.empty(); }
  std::string event(double wall_time, std::int64_t step) const;

 private:
  std::string values_;  // serialized Summary.value fields
};

// The Event that opens every event file ("brain.Event:2").
std::string file_version_event(double wall_time);
// The Event that marks a restart at `step`: readers drop what an earlier attempt wrote from it on.
std::string session_start_event(double wall_time, std::int64_t step);

// An event file opened for appending (created if missing); each write() is one record, handed to
// the operating system before it returns, so a killed process loses none.
class EventFile {
 public:
  explicit EventFile(std::filesystem::path path);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;

  void write(std::string_view event);
  const std::filesystem::path& path() const { return path_; }
  std::uint64_t bytes() const { return bytes_; }  // the file's size, all of it written

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
};

}  // namespace actlab::io
