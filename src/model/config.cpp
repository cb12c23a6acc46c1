#include "agegender/config.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "agegender/error.hpp"
#include "agegender/models.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
json augment_json(const AugmentConfig& a) {
  return {{"hflip", a.hflip},         {"shift", a.shift},       {"brightness", a.brightness},
          {"contrast", a.contrast},   {"downscale", a.downscale}, {"downscale_min", a.downscale_min}};
}
}  // namespace

json default_config() {
  const ExperimentConfig d;
  return json{
      {"name", "exp"},
      {"data", {{"prepared", "data/prepared/utk128"}, {"size", d.data.size}, {"color", d.data.color}, {"subset", d.data.subset}}},
      {"labels",
       {{"age_bins", d.labels.age_bins},
        {"balanced_classes", d.labels.balanced_classes},
        {"tasks", {"age", "gender"}},
        {"gender_weight", d.labels.gender_weight}}},
      {"model",
       {{"arch", d.model.arch},
        {"head", d.model.head},
        {"dropout", d.model.dropout},
        {"trainable_conv_layers", d.model.trainable_conv_layers},
        {"pretrained", d.model.pretrained},
        {"age_head", d.model.age_head}}},
      {"train",
       {{"epochs", d.train.epochs},
        {"batch_size", d.train.batch_size},
        {"optimizer", d.train.optimizer},
        {"lr", d.train.lr},
        {"momentum", d.train.momentum},
        {"weight_decay", d.train.weight_decay},
        {"schedule", d.train.schedule},
        {"plateau", {{"factor", d.train.plateau_factor}, {"patience", d.train.plateau_patience}}},
        {"early_stopping", {{"patience", d.train.patience}, {"min_delta", d.train.min_delta}}},
        {"augment", augment_json(d.train.augment)},
        {"seed", d.train.seed},
        {"threads", d.train.threads},
        {"device", d.train.device},
        {"log_interval", d.train.log_interval},
        {"age_loss", d.train.age_loss},
        {"age_sigma", d.train.age_sigma},
        {"feature_cache", d.train.feature_cache},
        {"feature_cache_dtype", d.train.feature_cache_dtype},
        {"amp", d.train.amp},
        {"channels_last", d.train.channels_last},
        {"cudnn_benchmark", d.train.cudnn_benchmark},
        {"cuda_graphs", d.train.cuda_graphs},
        {"finetune",
         {{"epochs", d.train.finetune.epochs},
          {"lr", d.train.finetune.lr},
          {"warmup_epochs", d.train.finetune.warmup_epochs},
          {"trainable_conv_layers", d.train.finetune.trainable_conv_layers},
          {"augment", augment_json(d.train.finetune.augment)}}}}},
      {"output", {{"dir", "runs"}}},
  };
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& key) {
  std::string best;
  size_t best_d = std::string::npos;
  const auto leaf = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  for (const auto& k : config_keys()) {
    // Compare whole paths and leaf names, so "train.epoch" and "epochs" both find "train.epochs".
    const size_t d = std::min(edit_distance(key, k), edit_distance(leaf(key), leaf(k)) + 1);
    if (d < best_d) best_d = d, best = k;
  }
  return best_d <= std::max<size_t>(3, key.size() / 3) ? " (did you mean '" + best + "'?)" : "";
}

void collect_keys(const json& node, const std::string& prefix, std::vector<std::string>& out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      collect_keys(*it, path, out);
    } else {
      out.push_back(path);
    }
  }
}

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

// Keys whose value may be an object although the default is not.
bool free_form(const std::string& path) { return path == "labels.age_bins"; }

// Every key of `tree` must exist in `schema` with a compatible type.
void check_keys(const json& tree, const json& schema, const std::string& prefix) {
  if (!tree.is_object()) throw UsageError("config: '" + (prefix.empty() ? "<root>" : prefix) + "' must be an object");
  for (auto it = tree.begin(); it != tree.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (!schema.contains(it.key())) {
      // For a misspelt section ("modle": {"arch": ...}) suggest from its first full key path.
      std::string probe = path;
      for (const json* node = &*it; node->is_object() && !node->empty(); node = &node->begin().value()) {
        probe += "." + node->begin().key();
      }
      throw UsageError("config: unknown key '" + path + "'" + suggestion(probe));
    }
    const json& want = schema.at(it.key());
    const json& got = *it;
    if (free_form(path)) continue;
    if (want.is_object()) {
      check_keys(got, want, path);
      continue;
    }
    const bool ok = (want.is_number_integer() && got.is_number_integer()) ||
                    (want.is_number_float() && got.is_number()) || (want.is_string() && got.is_string()) ||
                    (want.is_boolean() && got.is_boolean()) || (want.is_array() && got.is_array());
    if (!ok) {
      throw UsageError("config: '" + path + "' = " + got.dump() + " has type " + type_name(got) + ", expected " +
                       type_name(want));
    }
  }
}

[[noreturn]] void bad_value(const std::string& path, const json& v, const std::string& expected) {
  throw UsageError("config: '" + path + "' = " + v.dump() + ", expected " + expected);
}

const json& at_path(const json& tree, const std::string& path) {
  const json* node = &tree;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) node = &node->at(part);
  return *node;
}

template <typename T>
T ranged(const json& tree, const std::string& path, T lo, T hi, const std::string& expected) {
  const json& v = at_path(tree, path);
  // Compare as double first: 4294967297 must be refused, not narrowed to 1 by get<int>().
  const double x = v.get<double>();
  if (!(x >= static_cast<double>(lo) && x <= static_cast<double>(hi))) bad_value(path, v, expected);
  return v.get<T>();
}

AugmentConfig parse_augment(const json& t, const std::string& path, int input_size) {
  AugmentConfig a;
  a.hflip = at_path(t, path + ".hflip").get<bool>();
  a.shift = ranged(t, path + ".shift", 0.0, 0.5, "a fraction in 0..0.5");
  a.brightness = ranged(t, path + ".brightness", 0.0, 1.0, "a fraction in 0..1");
  a.contrast = ranged(t, path + ".contrast", 0.0, 0.9, "a fraction in 0..0.9");
  a.downscale = ranged(t, path + ".downscale", 0.0, 1.0, "a probability in 0..1");
  // The side only has to fit the input when the augmentation is on: a config with downscale 0 stays valid
  // for every data.size.
  a.downscale_min = ranged(t, path + ".downscale_min", 8, 4096, "a side in pixels from 8 to 4096");
  if (a.downscale > 0 && a.downscale_min >= input_size) {
    bad_value(path + ".downscale_min", at_path(t, path + ".downscale_min"),
              "a side below data.size (" + std::to_string(input_size) + ") when " + path + ".downscale > 0");
  }
  return a;
}

std::string one_of(const json& tree, const std::string& path, const std::vector<std::string>& allowed) {
  const json& v = at_path(tree, path);
  const auto s = v.get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    bad_value(path, v, "one of " + list);
  }
  return s;
}

// nlohmann's what() without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const json::exception& e) {
  const std::string w = e.what();
  const auto end = w.find("] ");
  return w.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? w.substr(end + 2) : w;
}

json read_json_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UsageError("config file " + path + " is a directory, expected a JSON file");
  std::ifstream in(path);
  if (!in) throw UsageError("config file " + path + " not found");
  std::stringstream text;
  text << in.rdbuf();
  check_json_depth(text.str(), "config file " + path);
  try {
    return json::parse(text.str());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw UsageError("config file " + path + " is not valid JSON: " + json_error_text(e));
  }
}

json load_with_extends(const std::string& path, std::set<std::string>& seen) {
  std::error_code ec;
  const fs::path canon_path = fs::weakly_canonical(path, ec);
  const std::string canon = ec ? path : canon_path.string();
  if (!seen.insert(canon).second) throw UsageError("config file " + path + ": 'extends' cycle");
  json tree = read_json_file(path);
  if (!tree.is_object()) throw UsageError("config file " + path + " must hold a JSON object");
  if (!tree.contains("extends")) return tree;
  const json ext = tree["extends"];
  tree.erase("extends");
  if (!ext.is_string()) throw UsageError("config file " + path + ": 'extends' must be a file path string");
  const fs::path base_path = fs::path(path).parent_path() / ext.get<std::string>();
  if (fs::is_directory(base_path, ec)) {
    throw UsageError("config file " + path + ": 'extends' = " + ext.dump() + " is a directory (" + base_path.string() +
                     "), expected a JSON file");
  }
  json base = load_with_extends(base_path.string(), seen);
  merge_config(base, tree);
  return base;
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  collect_keys(default_config(), "", keys);
  return keys;
}

bool resume_may_change(const std::string& key) {
  // How the same steps are computed, not which: a run started on a GPU in bf16 may continue on a CPU.
  return key == "train.threads" || key == "train.device" || key == "train.log_interval" || key == "train.amp" ||
         key == "train.channels_last" || key == "train.cudnn_benchmark" || key == "train.cuda_graphs";
}

std::string config_hash(const json& tree) {
  json t = tree;
  t.erase("provenance");
  if (t.contains("train") && t["train"].is_object()) {
    for (const auto& key : config_keys()) {
      if (resume_may_change(key)) t["train"].erase(key.substr(key.find('.') + 1));
    }
  }
  return fnv1a64_hex(t.dump());  // nlohmann sorts object keys: the dump is canonical
}

std::string fnv1a64_hex(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

void check_json_depth(const std::string& text, const std::string& what) {
  constexpr int kMaxDepth = 64;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // an escaped quote does not end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) {
        throw UsageError(what + ": JSON nested deeper than " + std::to_string(kMaxDepth) + " levels (at byte " +
                         std::to_string(i) + "); a config never needs that");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

void merge_config(json& base, const json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_object() && base.contains(it.key()) && base[it.key()].is_object() && !free_form(it.key())) {
      merge_config(base[it.key()], *it);
    } else {
      base[it.key()] = *it;
    }
  }
}

json load_config_file(const std::string& path) {
  std::set<std::string> seen;
  return load_with_extends(path, seen);
}

void apply_override(json& tree, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError("--set '" + assignment + "': expected key.path=value");
  }
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  check_json_depth(text, "--set '" + path + "'");
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // bare words are strings: --set model.arch=vgg16
  } catch (const json::out_of_range& e) {  // 1e400: a number no double holds
    throw UsageError("--set '" + assignment + "': '" + path + "' = " + text + " is out of range (" + json_error_text(e) +
                     "), expected a finite number");
  }
  json* node = &tree;
  std::stringstream ss(path);
  std::string part, walked;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + parts[i];
    json& child = (*node)[parts[i]];
    if (!child.is_object()) {
      if (!child.is_null()) throw UsageError("--set '" + assignment + "': '" + walked + "' is not a section");
      child = json::object();
    }
    node = &child;
  }
  (*node)[parts.back()] = value;
}

json resolve_config_tree(const std::string& file, const std::vector<std::string>& overrides) {
  json tree = default_config();
  if (!file.empty()) merge_config(tree, load_config_file(file));
  for (const auto& o : overrides) apply_override(tree, o);
  parse_config(tree);  // validate now: nothing runs on a bad tree
  return tree;
}

ExperimentConfig parse_config(const json& tree) {
  check_keys(tree, default_config(), "");
  json t = default_config();
  merge_config(t, tree);
  ExperimentConfig c;
  c.name = t["name"].get<std::string>();
  if (c.name.empty() || c.name.find('/') != std::string::npos || c.name == "." || c.name == "..") {
    bad_value("name", t["name"], "a non-empty run name without '/'");
  }
  c.output_dir = t["output"]["dir"].get<std::string>();
  if (c.output_dir.empty()) bad_value("output.dir", t["output"]["dir"], "a directory path");

  c.data.prepared = t["data"]["prepared"].get<std::string>();
  c.data.size = ranged(t, "data.size", 16, 512, "an integer in 16..512");
  c.data.color = t["data"]["color"].get<bool>();
  c.data.subset = ranged(t, "data.subset", 1e-6, 1.0, "a fraction in (0, 1]");

  const json& bins = t["labels"]["age_bins"];
  if (bins.is_string()) {
    c.labels.age_bins = one_of(t, "labels.age_bins", {"bin10", "balanced", "intuition"});
  } else if (bins.is_object() && bins.size() == 1 && bins.contains("edges") && bins["edges"].is_array()) {
    c.labels.age_bins = "custom";
    int prev = -1;
    for (const auto& e : bins["edges"]) {
      if (!e.is_number_integer() || e.get<int>() <= prev || e.get<int>() > 116) {
        bad_value("labels.age_bins.edges", bins["edges"], "increasing integer ages starting at 0, at most 116");
      }
      prev = e.get<int>();
      c.labels.custom_edges.push_back(prev);
    }
    if (c.labels.custom_edges.size() < 2 || c.labels.custom_edges[0] != 0) {
      bad_value("labels.age_bins.edges", bins["edges"], "at least two edges, the first 0");
    }
  } else {
    bad_value("labels.age_bins", bins, "\"bin10\", \"balanced\", \"intuition\" or {\"edges\": [0, ...]}");
  }
  c.labels.balanced_classes = ranged(t, "labels.balanced_classes", 2, 50, "an integer in 2..50");
  c.labels.age = c.labels.gender = false;
  for (const auto& task : t["labels"]["tasks"]) {
    if (task == "age") {
      c.labels.age = true;
    } else if (task == "gender") {
      c.labels.gender = true;
    } else {
      bad_value("labels.tasks", t["labels"]["tasks"], "a non-empty list of \"age\" and/or \"gender\"");
    }
  }
  if (!c.labels.age && !c.labels.gender) {
    bad_value("labels.tasks", t["labels"]["tasks"], "a non-empty list of \"age\" and/or \"gender\"");
  }
  c.labels.gender_weight = ranged(t, "labels.gender_weight", 0.0, 100.0, "a number in 0..100");

  std::vector<std::string> archs;
  for (const auto& m : model_registry()) archs.push_back(m.name);
  c.model.arch = one_of(t, "model.arch", archs);
  const ModelInfo& arch = *find_model(c.model.arch);
  c.model.head = one_of(t, "model.head", {"gap", "flatten"});
  c.model.dropout = ranged(t, "model.dropout", 0.0, 0.95, "a number in 0..0.95");
  c.model.trainable_conv_layers = ranged(t, "model.trainable_conv_layers", -1, arch.conv_layers,
                                        "-1 (all) or 0.." + std::to_string(arch.conv_layers) + " (" + arch.name +
                                            " has " + std::to_string(arch.conv_layers) + " conv layers)");
  if (c.data.size < arch.min_input_size) {
    bad_value("data.size", t["data"]["size"],
              "at least " + std::to_string(arch.min_input_size) + " for model.arch " + arch.name);
  }
  c.model.pretrained = t["model"]["pretrained"].get<std::string>();  // existence: checked by train
  c.model.age_head = one_of(t, "model.age_head", {"bins", "years"});

  const json& tr = t["train"];
  c.train.epochs = ranged(t, "train.epochs", 1, 100000, "an integer >= 1");
  c.train.batch_size = ranged(t, "train.batch_size", 1, 65536, "an integer >= 1");
  c.train.optimizer = one_of(t, "train.optimizer", {"adam", "sgd"});
  c.train.lr = ranged(t, "train.lr", 1e-12, 10.0, "a learning rate in (0, 10]");
  c.train.momentum = ranged(t, "train.momentum", 0.0, 0.999, "a number in 0..0.999");
  c.train.weight_decay = ranged(t, "train.weight_decay", 0.0, 1.0, "a number in 0..1");
  c.train.schedule = one_of(t, "train.schedule", {"none", "cosine", "plateau"});
  c.train.plateau_factor = ranged(t, "train.plateau.factor", 0.01, 0.99, "a number in 0.01..0.99");
  c.train.plateau_patience = ranged(t, "train.plateau.patience", 0, 1000, "an integer >= 0");
  c.train.patience = ranged(t, "train.early_stopping.patience", 0, 100000, "an integer >= 0 (0 = off)");
  c.train.min_delta = ranged(t, "train.early_stopping.min_delta", 0.0, 100.0, "a number >= 0");
  c.train.augment = parse_augment(t, "train.augment", c.data.size);
  if (!tr["seed"].is_number_unsigned()) bad_value("train.seed", tr["seed"], "a non-negative integer");
  c.train.seed = tr["seed"].get<uint64_t>();
  c.train.threads = ranged(t, "train.threads", 0, 1024, "an integer >= 0 (0 = all cores)");
  c.train.device = one_of(t, "train.device", {"cpu", "cuda", "auto"});
  c.train.log_interval = ranged(t, "train.log_interval", 1, 1000000, "an integer >= 1");
  c.train.age_loss = one_of(t, "train.age_loss", {"ldl", "mean_variance"});
  c.train.age_sigma = ranged(t, "train.age_sigma", 0.1, 30.0, "a number of years in 0.1..30");
  c.train.feature_cache = one_of(t, "train.feature_cache", {"auto", "off"});
  c.train.feature_cache_dtype = one_of(t, "train.feature_cache_dtype", {"fp16", "fp32"});
  c.train.amp = one_of(t, "train.amp", {"off", "bf16", "fp16"});
  c.train.channels_last = tr["channels_last"].get<bool>();
  c.train.cudnn_benchmark = tr["cudnn_benchmark"].get<bool>();
  c.train.cuda_graphs = tr["cuda_graphs"].get<bool>();
  FinetuneConfig& ft = c.train.finetune;
  ft.epochs = ranged(t, "train.finetune.epochs", 0, 100000, "an integer >= 0 (0 = no fine-tune phase)");
  ft.lr = ranged(t, "train.finetune.lr", 1e-12, 10.0, "a learning rate in (0, 10]");
  ft.warmup_epochs = ranged(t, "train.finetune.warmup_epochs", 0, ft.epochs > 0 ? ft.epochs - 1 : 100000,
                            "an integer in 0..train.finetune.epochs - 1");
  ft.trainable_conv_layers = ranged(t, "train.finetune.trainable_conv_layers", -1, arch.conv_layers,
                                    "-1 (all) or 0.." + std::to_string(arch.conv_layers));
  ft.augment = parse_augment(t, "train.finetune.augment", c.data.size);
  return c;
}

}  // namespace agegender
