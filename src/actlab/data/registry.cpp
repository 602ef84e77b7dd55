#include "actlab/data/registry.h"

#include <cstdlib>

#include "actlab/data/cifar.h"
#include "actlab/data/idx.h"

namespace actlab::data {
namespace {

std::vector<std::string> digits() { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

DatasetSpec idx_spec(std::string name, std::string description, std::string upstream,
                     std::vector<std::string> sums, std::vector<std::string> class_names) {
  const char* files[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                         "t10k-labels-idx1-ubyte.gz"};
  DatasetSpec spec{name, std::move(description), name, std::move(upstream), {}, {}, std::move(class_names), 60000,
                   10000};
  for (int i = 0; i < 4; ++i) spec.files.push_back({name + "/" + files[i], sums[i]});
  return spec;
}

// An IDX file as stored: compressed (.gz) or not.
std::filesystem::path find_idx_file(const std::filesystem::path& folder, const std::string& stem,
                                    const DatasetSpec& spec, const DataDir& dir) {
  for (const char* suffix : {".gz", ""}) {
    const std::filesystem::path path = folder / (stem + suffix);
    if (std::filesystem::exists(path)) return path;
  }
  fail("dataset '{}' not found: looked for {}.gz and {} (data dir {} from {}). Run `actlab data fetch {}`, or put "
       "the four upstream files ({}) in {}",
       spec.name, (folder / stem).string(), (folder / stem).string(), dir.path.string(), dir.origin, spec.name,
       spec.upstream, folder.string());
}

}  // namespace

const std::vector<DatasetSpec>& dataset_specs() {
  static const std::vector<DatasetSpec> specs = [] {
    std::vector<DatasetSpec> s;
    s.push_back(idx_spec("mnist", "handwritten digits, 28x28 grey, 60,000 train / 10,000 test",
                         "https://ossci-datasets.s3.amazonaws.com/mnist/",
                         {"440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                          "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                          "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                          "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
                         digits()));
    s.push_back(idx_spec("fashion-mnist", "Zalando clothing images, 28x28 grey, 60,000 train / 10,000 test",
                         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                         {"3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                          "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                          "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                          "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
                         {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                          "Ankle boot"}));
    s.push_back(idx_spec("kmnist", "Kuzushiji (cursive Japanese) characters, 28x28 grey, 60,000 train / 10,000 test",
                         "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
                         {"51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                          "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                          "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                          "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"},
                         {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"}));
    const CifarLayout& c10 = cifar_layout(CifarVariant::Cifar10);
    const std::string c10_dir = "cifar10/" + c10.folder + "/";
    s.push_back({"cifar10",
                 "colour photos in 10 classes, 3x32x32, 50,000 train / 10,000 test",
                 "cifar10",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                 "cifar10/" + c10.archive,
                 {{c10_dir + "batches.meta.txt", "558e74b5e208382e186da55784b4bac2cd52e558448e1b5800990fdb28ed8033"},
                  {c10_dir + "data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"},
                  {c10_dir + "data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"},
                  {c10_dir + "data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"},
                  {c10_dir + "data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"},
                  {c10_dir + "data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"},
                  {c10_dir + "test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"}},
                 {},
                 50000,
                 10000});
    const CifarLayout& c100 = cifar_layout(CifarVariant::Cifar100);
    s.push_back({"cifar100", "colour photos in 100 classes, 3x32x32, 50,000 train / 10,000 test", "cifar100",
                 "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "cifar100/" + c100.archive, {}, {}, 50000, 10000});
    return s;
  }();
  return specs;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetSpec& spec : dataset_specs()) names.push_back(spec.name);
  for (const std::string& name : synthetic_names()) names.push_back(name);
  return names;
}

const DatasetSpec& dataset_spec(std::string_view name) {
  for (const DatasetSpec& spec : dataset_specs())
    if (spec.name == name) return spec;
  fail("unknown dataset '{}'; known datasets: {}", name, fmt::join(dataset_names(), ", "));
}

DataDir resolve_data_dir(const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir && !explicit_dir->empty()) return {*explicit_dir, "--data-dir"};
  if (const char* env = std::getenv("ACTLAB_DATA"); env && *env) return {env, "$ACTLAB_DATA"};
  const char* home = std::getenv("HOME");
  ACTLAB_CHECK(home && *home, "no data dir: $HOME is unset; pass --data-dir or set ACTLAB_DATA");
  return {std::filesystem::path(home) / ".cache" / "actlab" / "datasets", "the default"};
}

namespace {

Dataset load_files(const DatasetSpec& spec, Split split, const DataDir& dir) {
  const std::filesystem::path folder = dir.path / spec.folder;
  if (spec.name == "cifar10" || spec.name == "cifar100") {
    const auto variant = spec.name == "cifar10" ? CifarVariant::Cifar10 : CifarVariant::Cifar100;
    ACTLAB_CHECK(std::filesystem::exists(folder),
                 "dataset '{}' not found: {} does not exist (data dir {} from {}). Run `actlab data fetch {}`, or "
                 "extract {} into {}",
                 spec.name, folder.string(), dir.path.string(), dir.origin, spec.name, spec.upstream, folder.string());
    return load_cifar(folder, variant, split);
  }
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::filesystem::path images = find_idx_file(folder, prefix + "-images-idx3-ubyte", spec, dir);
  const std::filesystem::path labels = find_idx_file(folder, prefix + "-labels-idx1-ubyte", spec, dir);
  return load_idx_dataset(images, labels, spec.class_names, spec.name + "/" + std::string(split_name(split)));
}

}  // namespace

Dataset load_dataset(std::string_view name, Split split, const LoadOptions& options) {
  if (is_synthetic(name)) {
    SyntheticOptions synthetic = options.synthetic;
    if (split == Split::Test) synthetic.seed ^= 0x9e3779b97f4a7c15ULL;  // a different, fixed stream
    Dataset set = make_synthetic(name, synthetic);
    set.name.append("/").append(split_name(split));
    return set;
  }
  const DatasetSpec& spec = dataset_spec(name);
  const DataDir dir = resolve_data_dir(options.data_dir);
  Dataset set = load_files(spec, split, dir);
  const std::int64_t expected = split == Split::Train ? spec.train_size : spec.test_size;
  ACTLAB_CHECK(set.size() == expected,
               "dataset '{}': the {} split in {} holds {} samples, expected {}; a file is truncated or from another "
               "dataset: run `actlab data fetch {} --force`",
               spec.name, split_name(split), (dir.path / spec.folder).string(), set.size(), expected, spec.name);
  return set;
}

}  // namespace actlab::data
