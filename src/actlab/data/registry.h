// Datasets by name, and where their files live.
//
// Names: "mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100" (files on disk) and "xor",
// "circles", "moons", "spirals", "blobs", "linear" (generated, see synthetic.h).
//
// The data dir is, in order: an explicit directory (--data-dir), $ACTLAB_DATA, then
// ~/.cache/actlab/datasets. Inside it each dataset has its own folder, as upstream ships it:
//   mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]   (fashion-mnist/, kmnist/ alike)
//   cifar10/cifar-10-batches-bin/...   or   cifar10/cifar-10-binary.tar.gz
//   cifar100/cifar-100-binary/...      or   cifar100/cifar-100-binary.tar.gz
#pragma once

#include <filesystem>
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

struct DatasetSpec {
  std::string name;         // "mnist"
  std::string description;  // one line
  std::string folder;       // folder inside the data dir
  // Upstream location: a base URL the file names are appended to, or, when `archive` is set,
  // the URL of that one archive.
  std::string upstream;
  std::string archive;           // path of the upstream archive relative to the data dir, or empty
  std::vector<DataFile> files;   // the files as laid out in the data dir (empty: cannot be fetched)
  std::vector<std::string> class_names;
  std::int64_t train_size = 0;  // samples in the upstream splits
  std::int64_t test_size = 0;
};

// The file-backed datasets, in documentation order.
const std::vector<DatasetSpec>& dataset_specs();
// Throws Error listing every known name when `name` is not a file-backed dataset.
const DatasetSpec& dataset_spec(std::string_view name);
// Every name load_dataset accepts.
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

// Loads one split. Throws Error when the name is unknown, or when files are missing (saying
// where it looked and how to get them), damaged, or hold a different number of samples than
// the upstream split.
Dataset load_dataset(std::string_view name, Split split, const LoadOptions& options = {});

}  // namespace actlab::data
