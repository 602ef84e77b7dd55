#include "actlab/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actlab/io/state.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"
#include "data/data_test_util.h"

namespace actlab {
namespace {

using io::Metadata;
using io::NamedTensors;

constexpr const char* kPython = "/usr/bin/python3";

// Runs a Python script with arguments; returns its stdout, or nullopt when Python is missing.
std::optional<std::string> run_python(const test::TempDir& dir, const std::string& script, const std::string& args) {
  if (!std::filesystem::exists(kPython)) return std::nullopt;
  std::ofstream(dir / "script.py") << script;
  const std::string command = fmt::format("{} {} {}", kPython, (dir / "script.py").string(), args);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << "python failed: " << out;
  return out;
}

NamedTensors sample_tensors() {
  Generator gen(7);
  return {{"weights", randn({3, 4}, gen)},
          {"doubles", randn({2, 2}, gen, kFloat64)},
          {"counts", from_vector<std::int64_t>({1, -2, 1LL << 40}, {3})},
          {"bytes", from_vector<std::uint8_t>({0, 7, 255}, {3})},
          {"scalar", scalar_tensor(2.5, kFloat64)},
          {"empty", zeros({0, 5})},
          {"transposed", randn({4, 3}, gen).t()}};
}

void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  dispatch_all(a.dtype(), [&]<typename T>() { EXPECT_EQ(a.to_vector<T>(), b.to_vector<T>()); });
}

const Tensor& find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw std::runtime_error("no tensor " + name);
}

TEST(Safetensors, RoundTripKeepsEveryDtypeShapeAndMetadata) {
  test::TempDir dir;
  const auto tensors = sample_tensors();
  const Metadata metadata{{"model", "mlp:4"}, {"note", "ünïcode"}};
  io::save_safetensors((dir / "a.safetensors").string(), tensors, metadata);
  const auto loaded = io::load_safetensors((dir / "a.safetensors").string());
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) expect_same(find(loaded.tensors, name), tensor);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.safetensors.tmp"));
}

TEST(Safetensors, HeaderIsPaddedSoDataStartsAligned) {
  const std::string bytes = io::encode_safetensors(sample_tensors());
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0U);
  EXPECT_EQ(bytes[8], '{');
}

TEST(Safetensors, IndependentReaderSeesTheSameTensors) {
  test::TempDir dir;
  const auto tensors = sample_tensors();
  io::save_safetensors((dir / "a.safetensors").string(), tensors, {{"step", "12"}});
  // Plain json + struct, as the format's specification reads.
  const std::string script = R"(
import json, struct, sys
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
body = data[8 + n:]
codes = {'F32': 'f', 'F64': 'd', 'I64': 'q', 'U8': 'B'}
print('meta', header.pop('__metadata__')['step'])
for name in sorted(header):
    info = header[name]
    begin, end = info['data_offsets']
    count = (end - begin) // struct.calcsize(codes[info['dtype']])
    values = struct.unpack('<%d%s' % (count, codes[info['dtype']]), body[begin:end])
    assert begin % struct.calcsize(codes[info['dtype']]) == 0
    print(name, info['dtype'], info['shape'], ' '.join(repr(v) for v in values))
)";
  const auto out = run_python(dir, script, (dir / "a.safetensors").string());
  if (!out) GTEST_SKIP() << kPython << " is not available";
  std::map<std::string, std::string> lines;
  std::istringstream in(*out);
  for (std::string line; std::getline(in, line);) lines[line.substr(0, line.find(' '))] = line;
  EXPECT_EQ(lines["meta"], "meta 12");
  EXPECT_EQ(lines["counts"], "counts I64 [3] 1 -2 1099511627776");
  EXPECT_EQ(lines["bytes"], "bytes U8 [3] 0 7 255");
  EXPECT_EQ(lines["scalar"], "scalar F64 [] 2.5");
  EXPECT_EQ(lines["empty"], "empty F32 [0, 5] ");
  // Python prints repr(float), the shortest form that round-trips, as fmt does.
  auto expected_line = [&](const std::string& name, const std::string& prefix) {
    std::string line = prefix;
    for (double v : find(tensors, name).to_vector<double>()) line += fmt::format(" {}", v);
    return line;
  };
  EXPECT_EQ(lines["doubles"], expected_line("doubles", "doubles F64 [2, 2]"));
  EXPECT_EQ(lines["transposed"], expected_line("transposed", "transposed F32 [3, 4]"));
}

TEST(Safetensors, ReadsAFileFromAnIndependentWriter) {
  test::TempDir dir;
  // Written the way the reference implementation lays it out: header padded with spaces, no
  // metadata, tensors in its own order.
  const std::string script = R"(
import json, struct, sys
a = struct.pack('<6f', 1.5, -2, 3, 4, 5, 6.25)
b = struct.pack('<2q', -7, 9)
header = {'b.long': {'dtype': 'I64', 'shape': [2], 'data_offsets': [0, 16]},
          'a.float': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [16, 40]},
          '__metadata__': {'format': 'pt'}}
text = json.dumps(header).encode()
text += b' ' * ((8 - len(text) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(text)) + text + b + a)
)";
  if (!run_python(dir, script, (dir / "b.safetensors").string())) GTEST_SKIP() << kPython << " is not available";
  const auto loaded = io::load_safetensors((dir / "b.safetensors").string());
  EXPECT_EQ(loaded.metadata.at("format"), "pt");
  ASSERT_EQ(loaded.tensors.size(), 2U);
  EXPECT_EQ(loaded.tensors[0].first, "b.long");  // in data order
  expect_same(find(loaded.tensors, "b.long"), from_vector<std::int64_t>({-7, 9}, {2}));
  expect_same(find(loaded.tensors, "a.float"), from_vector<float>({1.5f, -2, 3, 4, 5, 6.25f}, {2, 3}));
}

// The bytes of a file whose header is `header` and whose data region has `data_bytes` bytes.
std::string with_header(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

void expect_rejected(const std::string& bytes, const std::string& message_part) {
  try {
    io::decode_safetensors(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a file that should fail with: " << message_part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RejectsCorruptFilesWithClearMessages) {
  const std::string good = io::encode_safetensors(sample_tensors());
  expect_rejected(good.substr(0, 5), "too short");
  expect_rejected(good.substr(0, 40), "runs past the end of the file");
  expect_rejected(good.substr(0, good.size() - 1), "the file is truncated");
  expect_rejected(good + "x", "the tensors cover");

  std::string huge = good;
  huge[7] = '\x7f';
  expect_rejected(huge, "runs past the end");

  expect_rejected(with_header("{\"a\": [1, 2", 0), "not valid JSON");
  expect_rejected(with_header("[1, 2]  ", 0), "does not start with '{'");
  expect_rejected(with_header(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4), "not supported");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "end before");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                  "overlaps the previous tensor");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "belong to no tensor");
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  expect_rejected(with_header(R"({"__metadata__":{"k":1}})", 0), "metadata 'k' is not a string");
  expect_rejected(with_header(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0),
                  "too large");
}

TEST(Safetensors, RejectsDuplicateOrReservedNamesWhenWriting) {
  EXPECT_THROW(io::encode_safetensors({{"a", zeros({1})}, {"a", zeros({1})}}), Error);
  EXPECT_THROW(io::encode_safetensors({{"__metadata__", zeros({1})}}), Error);
  EXPECT_THROW(io::encode_safetensors({{"", zeros({1})}}), Error);
}

TEST(Safetensors, MissingFileSaysSo) {
  try {
    io::load_safetensors("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

TEST(ModelState, ModelAndOptimizerRoundTrip) {
  test::TempDir dir;
  nn::ModelOptions options;
  options.seed = 3;
  options.norm = nn::Norm::Batch;
  auto model = nn::mlp(4, {8}, 3, options);
  optim::Adam adam(model->parameters(), {.lr = 0.01});
  const Tensor loss = (*model)(randn({5, 4})).square().mean();
  loss.backward();
  adam.step();
  const std::string path = (dir / "m.safetensors").string();
  io::save_state(path, *model, {{"step", "1"}}, &adam);

  options.seed = 99;
  auto fresh = nn::mlp(4, {8}, 3, options);
  optim::Adam fresh_adam(fresh->parameters(), {.lr = 0.5});
  const Metadata metadata = io::load_state(path, *fresh, &fresh_adam);
  EXPECT_EQ(metadata.at("step"), "1");
  for (const auto& [name, tensor] : model->state_dict()) expect_same(find(fresh->state_dict(), name), tensor);
  EXPECT_EQ(fresh_adam.lr(), 0.01);
  const auto saved = adam.state_dict(), restored = fresh_adam.state_dict();
  ASSERT_EQ(saved.size(), restored.size());
  for (std::size_t i = 0; i < saved.size(); ++i) expect_same(restored[i].second, saved[i].second);

  // A checkpoint is also a model file: loading without an optimizer ignores its state.
  auto plain = nn::mlp(4, {8}, 3, options);
  io::load_state(path, *plain);
  expect_same(find(plain->state_dict(), "1.weight"), find(model->state_dict(), "1.weight"));
}

TEST(ModelState, WrongModelIsRejectedNamingEveryMismatchAndChangesNothing) {
  test::TempDir dir;
  const std::string path = (dir / "m.safetensors").string();
  io::save_state(path, *nn::mlp(4, {8}, 3), {});
  auto other = nn::mlp(4, {6, 6}, 3);
  const Tensor before = find(other->state_dict(), "1.weight").clone();
  try {
    io::load_state(path, *other);
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'1.weight' is float32 [8,4] in the file but float32 [6,4] in the model"), std::string::npos)
        << message;
    EXPECT_NE(message.find("'5.weight' is missing from the file"), std::string::npos) << message;
  }
  expect_same(find(other->state_dict(), "1.weight"), before);

  auto doubles = nn::mlp(4, {8}, 3);
  doubles->to(kFloat64);
  EXPECT_THROW(io::load_state(path, *doubles), Error);
}

}  // namespace
}  // namespace actlab
