#include "actlab/data/registry.h"

#include <cstdlib>
#include <deque>
#include <mutex>

#include "actlab/data/cifar.h"
#include "actlab/data/idx.h"
#include "actlab/data/sequence.h"

namespace actlab::data {
namespace {

std::vector<std::string> digits() { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

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

Dataset load_idx_files(const DatasetSpec& spec, Split split, const LoadOptions& options) {
  const DataDir dir = resolve_data_dir(options.data_dir);
  const std::filesystem::path folder = dir.path / spec.folder;
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::filesystem::path images = find_idx_file(folder, prefix + "-images-idx3-ubyte", spec, dir);
  const std::filesystem::path labels = find_idx_file(folder, prefix + "-labels-idx1-ubyte", spec, dir);
  return load_idx_dataset(images, labels, spec.class_names, spec.name + "/" + std::string(split_name(split)));
}

DatasetLoader cifar_loader(CifarVariant variant) {
  return [variant](const DatasetSpec& spec, Split split, const LoadOptions& options) {
    const DataDir dir = resolve_data_dir(options.data_dir);
    const std::filesystem::path folder = dir.path / spec.folder;
    ACTLAB_CHECK(std::filesystem::exists(folder),
                 "dataset '{}' not found: {} does not exist (data dir {} from {}). Run `actlab data fetch {}`, or "
                 "extract {} into {}",
                 spec.name, folder.string(), dir.path.string(), dir.origin, spec.name, spec.upstream, folder.string());
    return load_cifar(folder, variant, split);
  };
}

Dataset generate(const DatasetSpec& spec, Split split, const LoadOptions& options) {
  SyntheticOptions synthetic = options.synthetic;
  if (split == Split::Test) synthetic.seed ^= 0x9e3779b97f4a7c15ULL;  // a different, fixed stream
  Dataset set = make_synthetic(spec.name, synthetic);
  set.name.append("/").append(split_name(split));
  return set;
}

// The catalog fields every dataset has.
DatasetSpec basic_spec(std::string name, std::string description, Shape sample_shape, std::int64_t classes,
                       DatasetLoader load) {
  DatasetSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.sample_shape = std::move(sample_shape);
  spec.classes = classes;
  spec.load = std::move(load);
  return spec;
}

DatasetSpec idx_spec(std::string name, std::string description, std::string upstream,
                     std::vector<std::string> sums, std::vector<std::string> class_names) {
  const char* files[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                         "t10k-labels-idx1-ubyte.gz"};
  DatasetSpec spec = basic_spec(name, std::move(description), {1, 28, 28},
                                static_cast<std::int64_t>(class_names.size()), load_idx_files);
  spec.folder = name;
  spec.upstream = std::move(upstream);
  spec.class_names = std::move(class_names);
  spec.train_size = 60000;
  spec.test_size = 10000;
  for (int i = 0; i < 4; ++i) spec.files.push_back({name + "/" + files[i], sums[i]});
  return spec;
}

DatasetSpec cifar_spec(CifarVariant variant, std::string name, std::int64_t classes, std::string description,
                       std::vector<DataFile> files) {
  const CifarLayout& layout = cifar_layout(variant);
  DatasetSpec spec = basic_spec(name, std::move(description), {3, 32, 32}, classes, cifar_loader(variant));
  spec.folder = name;
  spec.upstream = "https://www.cs.toronto.edu/~kriz/" + layout.archive;
  spec.archive = name + "/" + layout.archive;
  spec.files = std::move(files);
  spec.train_size = 50000;
  spec.test_size = 10000;
  return spec;
}

DatasetSpec synthetic_spec(std::string name, std::string description, std::int64_t classes, double noise) {
  DatasetSpec spec = basic_spec(std::move(name), std::move(description), {2}, classes, generate);
  spec.synthetic = true;
  spec.noise = noise;
  return spec;
}

// An image set read as a sequence: row by row (the files' own layout), or pixel by pixel in
// `order` (identity when empty).
DatasetSpec sequence_view(const DatasetSpec& images, std::string name, std::string description, Shape sample_shape,
                          bool pixels, std::vector<std::int64_t> order) {
  DatasetSpec spec = images;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.sample_shape = std::move(sample_shape);
  spec.load = [pixels, order = std::move(order)](const DatasetSpec& self, Split split, const LoadOptions& options) {
    Dataset set = load_idx_files(self, split, options);
    return pixels ? as_pixel_sequence(set, order) : set;
  };
  return spec;
}

constexpr std::int64_t kSequenceTrain = 10000, kSequenceTest = 1000;

DatasetSpec sequence_task_spec(const SequenceTaskInfo& task, std::string description) {
  DatasetSpec spec = basic_spec(task.name, std::move(description), {}, task.classes, {});
  spec.synthetic = true;
  spec.syntax = task.name + ":T";
  spec.train_size = kSequenceTrain;
  spec.test_size = kSequenceTest;
  spec.target = task.classes == 0 ? Target::Value : task.per_step ? Target::ClassPerStep : Target::Class;
  spec.with_length = [base = spec, &task](std::int64_t length) {
    DatasetSpec sized = base;
    make_sequence_task(task.name, length, 1, 0);  // validates the length
    sized.name = fmt::format("{}:{}", task.name, length);
    sized.sample_shape = {task.steps(length), task.features};
    sized.classes = std::max<std::int64_t>(task.classes, 1);
    sized.with_length = nullptr;
    sized.load = [length, &task](const DatasetSpec& self, Split split, const LoadOptions& options) {
      const bool train = split == Split::Train;
      const std::uint64_t seed = options.synthetic.seed ^ (train ? 0 : 0x9e3779b97f4a7c15ULL);
      Dataset set = make_sequence_task(task.name, length, train ? self.train_size : self.test_size, seed);
      set.name = self.name + "/" + std::string(split_name(split));
      return set;
    };
    return sized;
  };
  return spec;
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
    const std::string c10_dir = "cifar10/" + cifar_layout(CifarVariant::Cifar10).folder + "/";
    s.push_back(cifar_spec(
        CifarVariant::Cifar10, "cifar10", 10, "colour photos in 10 classes, 3x32x32, 50,000 train / 10,000 test",
        {{c10_dir + "batches.meta.txt", "558e74b5e208382e186da55784b4bac2cd52e558448e1b5800990fdb28ed8033"},
         {c10_dir + "data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"},
         {c10_dir + "data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"},
         {c10_dir + "data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"},
         {c10_dir + "data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"},
         {c10_dir + "data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"},
         {c10_dir + "test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"}}));
    s.push_back(cifar_spec(CifarVariant::Cifar100, "cifar100", 100,
                           "colour photos in 100 classes, 3x32x32, 50,000 train / 10,000 test", {}));
    s.push_back(synthetic_spec("xor", "four quadrant clusters, label = sign(x) != sign(y)", 2, 0.1));
    s.push_back(synthetic_spec("circles", "two concentric circles", 2, 0.1));
    s.push_back(synthetic_spec("moons", "two interleaving half circles", 2, 0.1));
    s.push_back(synthetic_spec("spirals", "interleaved arms spiralling out from the origin", 3, 0.05));
    s.push_back(synthetic_spec("blobs", "Gaussian blobs with centres on a circle", 3, 0.1));
    s.push_back(synthetic_spec("linear", "two classes split by the line x + y = 0 (solvable without an activation)",
                               2, 0.1));
    const DatasetSpec mnist = s[0], fashion = s[1];
    s.push_back(sequence_view(mnist, "seq-mnist", "MNIST as 28 steps of 28 pixels, row by row", {1, 28, 28}, false, {}));
    s.push_back(sequence_view(fashion, "seq-fashion-mnist", "Fashion-MNIST as 28 steps of 28 pixels, row by row",
                              {1, 28, 28}, false, {}));
    s.push_back(sequence_view(mnist, "pixel-mnist", "MNIST as 784 steps of 1 pixel", {1, 784, 1}, true, {}));
    s.push_back(sequence_view(mnist, "pmnist", "MNIST as 784 steps of 1 pixel in a fixed random permutation",
                              {1, 784, 1}, true, pixel_permutation(784)));
    const auto& tasks = sequence_tasks();
    s.push_back(sequence_task_spec(tasks[0], "two marked values among T in [0, 1); target their sum (MSE, "
                                             "predict-1 baseline 0.167)"));
    s.push_back(sequence_task_spec(tasks[1], "X/Y at two steps among T distractors; 4 classes by their order"));
    s.push_back(sequence_task_spec(tasks[2], "recall 10 symbols after T blanks, per step (baseline 10 log 8 / (T + 20))"));
    return s;
  }();
  return specs;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetSpec& spec : dataset_specs()) names.push_back(spec.with_length ? spec.syntax : spec.name);
  return names;
}

const DatasetSpec& dataset_info(std::string_view name) {
  const std::string_view base = name.substr(0, name.find(':'));
  const auto spec = std::find_if(dataset_specs().begin(), dataset_specs().end(),
                                 [&](const DatasetSpec& s) { return s.name == base; });
  ACTLAB_CHECK(spec != dataset_specs().end(), "unknown dataset '{}'; known datasets: {}", name,
               fmt::join(dataset_names(), ", "));
  if (base == name && !spec->with_length) return *spec;
  ACTLAB_CHECK(spec->with_length, "dataset '{}' takes no length; use '{}'", name, base);
  ACTLAB_CHECK(base != name, "dataset '{}' needs a sequence length: {}, e.g. {}:100", name, spec->syntax, base);
  const std::string length_text(name.substr(base.size() + 1));
  std::size_t used = 0;
  std::int64_t length = 0;
  try {
    length = std::stoll(length_text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ACTLAB_CHECK(used == length_text.size() && used > 0 && std::isdigit(static_cast<unsigned char>(length_text[0])),
               "dataset '{}': the length '{}' is not a positive integer ({})", name, length_text, spec->syntax);
  ACTLAB_CHECK(length <= 100000, "dataset '{}': a length of {} steps is more than this laboratory is meant for "
               "(at most 100000)", name, length);
  // Specs of lengths are built once and kept, so the references handed out stay valid.
  static std::mutex mutex;
  static std::deque<DatasetSpec> sized;
  const std::lock_guard lock(mutex);
  for (const DatasetSpec& s : sized)
    if (s.name == name) return s;
  return sized.emplace_back(spec->with_length(length));
}

const DatasetSpec& dataset_spec(std::string_view name) {
  const DatasetSpec& spec = dataset_info(name);
  ACTLAB_CHECK(!spec.synthetic, "dataset '{}' is generated from a seed, so it has no files to fetch or inspect", name);
  return spec;
}

LoadOptions default_load_options(std::string_view name, std::int64_t synthetic_samples,
                                 const std::optional<std::filesystem::path>& data_dir) {
  const DatasetSpec& spec = dataset_info(name);
  LoadOptions options;
  options.data_dir = data_dir;
  options.synthetic.samples = synthetic_samples;
  options.synthetic.classes = spec.classes;
  options.synthetic.noise = spec.noise;
  return options;
}

DataDir resolve_data_dir(const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir && !explicit_dir->empty()) return {*explicit_dir, "--data-dir"};
  if (const char* env = std::getenv("ACTLAB_DATA"); env && *env) return {env, "$ACTLAB_DATA"};
  const char* home = std::getenv("HOME");
  ACTLAB_CHECK(home && *home, "no data dir: $HOME is unset; pass --data-dir or set ACTLAB_DATA");
  return {std::filesystem::path(home) / ".cache" / "actlab" / "datasets", "the default"};
}

Dataset load_dataset(std::string_view name, Split split, const LoadOptions& options) {
  const DatasetSpec& spec = dataset_info(name);
  Dataset set = spec.load(spec, split, options);
  if (spec.synthetic) return set;
  const std::int64_t expected = split == Split::Train ? spec.train_size : spec.test_size;
  ACTLAB_CHECK(set.size() == expected,
               "dataset '{}': the {} split in {} holds {} samples, expected {}; a file is truncated or from another "
               "dataset: run `actlab data fetch {} --force`",
               spec.name, split_name(split), (resolve_data_dir(options.data_dir).path / spec.folder).string(),
               set.size(), expected, spec.name);
  return set;
}

}  // namespace actlab::data
