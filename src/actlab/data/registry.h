// The dataset catalog: every dataset by name, what its samples look like, how it loads and,
// for the file-backed ones, where their files live and come from. Settings, `--help`, the
// `data` command and validation all read their choices from it.
//
// Names: "mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100" (files on disk) and "xor",
// "circles", "moons", "spirals", "blobs", "linear" (generated, see synthetic.h); the sequence
// views "seq-mnist", "seq-fashion-mnist" (28 steps of 28 pixels, row by row), "pixel-mnist" (784
// steps of 1 pixel) and "pmnist" (those pixels in the fixed permutation pixel_permutation()),
// which read the mnist/ and fashion-mnist/ files; and the generated sequence tasks "adding:T",
// "temporal-order:T", "copy:T" (see sequence.h), whose length T is part of the name.
//
// The data dir is, in order: an explicit directory (--data-dir), $ACTLAB_DATA, then
// ~/.cache/actlab/datasets. Inside it each dataset has its own folder, as upstream ships it:
//   mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]   (fashion-mnist/, kmnist/ alike)
//   cifar10/cifar-10-batches-bin/...   or   cifar10/cifar-10-binary.tar.gz
//   cifar100/cifar-100-binary/...      or   cifar100/cifar-100-binary.tar.gz
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/data/dataset.h"
#include "actlab/data/synthetic.h"

namespace actlab::data {

// A file of a dataset, by its path relative to the data dir, with its pinned SHA-256.
struct DataFile {
  std::string path;
  std::string sha256;
};

struct DatasetSpec;
struct LoadOptions;
// What a sample's label is: a class, a real value (regression), or a class at every time step.
enum class Target { Class, Value, ClassPerStep };
// Loads one split of the dataset `spec` describes.
using DatasetLoader = std::function<Dataset(const DatasetSpec& spec, Split split, const LoadOptions& options)>;

struct DatasetSpec {
  std::string name;         // "mnist"
  std::string description;  // one line
  Shape sample_shape;       // of one sample: {1, 28, 28}, {3, 32, 32}, or {2} for the generated sets
  std::int64_t classes = 0; // labels run over 0..classes-1 (the default count for spirals and blobs)
  bool synthetic = false;   // generated from a seed: nothing to fetch, no files
  double noise = 0;         // generated sets: the default noise standard deviation
  DatasetLoader load;
  // File-backed sets only:
  std::string folder;       // folder inside the data dir
  // Upstream location: a base URL the file names are appended to, or, when `archive` is set,
  // the URL of that one archive.
  std::string upstream;
  std::string archive;           // path of the upstream archive relative to the data dir, or empty
  std::vector<DataFile> files;   // the files as laid out in the data dir (empty: cannot be fetched)
  std::vector<std::string> class_names;  // empty when the files name them (cifar100)
  std::int64_t train_size = 0;  // samples in the upstream splits
  std::int64_t test_size = 0;
  Target target = Target::Class;
  // Sets whose name takes a length ("adding:T"): the syntax, and the spec of one length (which
  // throws Error for a length the set does not accept).
  std::string syntax;
  std::function<DatasetSpec(std::int64_t length)> with_length;
};

// Every dataset, file-backed ones first, in documentation order.
const std::vector<DatasetSpec>& dataset_specs();
// The catalog entry of any dataset ("adding:100": the entry of that length). Throws Error listing
// every known name for an unknown one, and for a missing, malformed or too small length.
const DatasetSpec& dataset_info(std::string_view name);
// A file-backed dataset. Throws Error for an unknown name (listing the known ones) and for a
// generated set (which has nothing to fetch).
const DatasetSpec& dataset_spec(std::string_view name);
// Every name load_dataset accepts (the syntax, "adding:T", for those that take a length).
std::vector<std::string> dataset_names();

struct DataDir {
  std::filesystem::path path;
  std::string origin;  // "--data-dir", "$ACTLAB_DATA" or "the default"
};
DataDir resolve_data_dir(const std::optional<std::filesystem::path>& explicit_dir = {});

struct LoadOptions {
  std::optional<std::filesystem::path> data_dir;
  SyntheticOptions synthetic;  // for generated sets; the test split uses a derived seed
};
// The options to load `name` with: `data_dir`, and for a generated set `synthetic_samples`
// samples with the catalog's class count and noise. Throws Error for an unknown name.
LoadOptions default_load_options(std::string_view name, std::int64_t synthetic_samples,
                                 const std::optional<std::filesystem::path>& data_dir = {});

// Loads one split. Throws Error when the name is unknown, or when files are missing (saying
// where it looked and how to get them), damaged, or hold a different number of samples than
// the upstream split.
Dataset load_dataset(std::string_view name, Split split, const LoadOptions& options = {});

}  // namespace actlab::data
