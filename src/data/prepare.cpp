#include "agegender/prepare.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <mutex>
#include <thread>

#include "agegender/atomic_file.hpp"
#include "agegender/binning.hpp"
#include "agegender/charts.hpp"
#include "agegender/dataset_source.hpp"
#include "agegender/duplicates.hpp"
#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/manifest.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/progress.hpp"
#include "agegender/threads.hpp"

namespace agegender {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

struct Candidate {
  const SourceFile* file;
  FaceLabel label;
};

struct Rejection {
  std::string file, reason;
};

// Decodes every candidate into its cache slot on `threads` workers; returns per-slot error ("" = ok).
std::vector<std::string> decode_all(const std::vector<Candidate>& cands, const PrepareOptions& o, int threads,
                                    ImageCacheWriter& cache) {
  const int size = o.size;
  std::vector<std::string> errors(cands.size());
  std::atomic<size_t> done{0};
  const int saved_cv_threads = cv::getNumThreads();
  cv::setNumThreads(0);  // our workers are the parallelism; OpenCV's own pool would oversubscribe
  std::vector<std::vector<uint8_t>> pixels(static_cast<size_t>(threads), std::vector<uint8_t>(static_cast<size_t>(size) * size * 3));
  Progress progress("Prepare", cands.size(), o.quiet);
  try {
    // A bad image is a rejection (errors[i]); a failed cache write ends the run (re-thrown by parallel_for).
    parallel_for(cands.size(), threads, [&](size_t i, int w) {
      auto& px = pixels[static_cast<size_t>(w)];
      bool ok = false;
      try {  // anything thrown for one image (cv::Exception from the resize, bad_alloc) is its rejection
        ok = decode_square_rgb(cands[i].file->bytes, size, px.data(), &errors[i], o.max_pixels);
      } catch (const std::exception& e) {
        errors[i] = std::string("cannot decode image: ") + e.what();
      }
      if (ok) cache.write(i, px.data());
      const size_t n = done.fetch_add(1) + 1;
      if (w == 0) progress.update(n);  // Progress is not thread-safe: one worker reports
    });
  } catch (...) {
    cv::setNumThreads(saved_cv_threads);
    throw;
  }
  cv::setNumThreads(saved_cv_threads);
  return errors;
}

ojson counts_json(const std::map<std::string, long>& m) {
  ojson j = ojson::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// Counts per class name in class order, for meta.json and the EDA charts.
struct Histogram {
  std::vector<std::string> names;
  std::vector<double> counts;
  ojson json() const {
    ojson j = ojson::object();
    for (size_t i = 0; i < names.size(); ++i) j[names[i]] = static_cast<long>(counts[i]);
    return j;
  }
};

Histogram age_group_histogram(const AgeBinning& b, const std::vector<ManifestRow>& rows) {
  Histogram h{b.class_names(), std::vector<double>(static_cast<size_t>(b.num_classes()), 0.0)};
  for (const auto& r : rows) h.counts[static_cast<size_t>(b.class_of(r.label.age))] += 1;
  return h;
}

void write_outputs(const PrepareOptions& o, const std::vector<ManifestRow>& rows, std::vector<Rejection> rejected,
                   const std::vector<std::vector<std::string>>& dup_groups, const size_t split_counts[3]) {
  write_file_atomic((fs::path(o.out) / kManifestFile).string(), manifest_csv(rows));

  std::vector<int> train_ages;
  Histogram ages, genders{{"male", "female"}, {0, 0}}, races;
  for (int a = 0; a <= kMaxAge; ++a) ages.names.push_back(std::to_string(a));
  ages.counts.assign(kMaxAge + 1, 0);
  for (int r = 0; r < kNumRaces; ++r) races.names.push_back(race_name(r));
  races.counts.assign(kNumRaces, 0);
  for (const auto& r : rows) {
    ages.counts[static_cast<size_t>(r.label.age)] += 1;
    genders.counts[static_cast<size_t>(r.label.gender)] += 1;
    races.counts[static_cast<size_t>(r.label.race)] += 1;
    if (r.split == Split::Train) train_ages.push_back(r.label.age);
  }
  // Balanced edges come from the training split only (fall back to all images for a test-only set).
  if (train_ages.empty()) {
    for (const auto& r : rows) train_ages.push_back(r.label.age);
  }
  const std::map<std::string, AgeBinning> binnings = {
      {"bin10", AgeBinning::bin10()},
      {"balanced", AgeBinning::balanced(train_ages, o.balanced_classes)},
      {"intuition", AgeBinning::intuition()}};

  ojson meta;
  meta["format_version"] = 1;
  meta["source"] = o.data;
  meta["image_size"] = o.size;
  meta["channels"] = 3;
  meta["seed"] = o.seed;
  meta["split_fractions"] = {o.split.train, o.split.val, o.split.test};
  meta["accepted"] = rows.size();
  meta["split_counts"] = {{"train", split_counts[0]}, {"val", split_counts[1]}, {"test", split_counts[2]}};
  std::sort(rejected.begin(), rejected.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  meta["rejected"] = ojson::array();
  for (const auto& r : rejected) meta["rejected"].push_back({{"file", r.file}, {"reason", r.reason}});
  meta["duplicate_groups"] = dup_groups;
  ojson age_counts = ojson::object();
  for (size_t a = 0; a < ages.counts.size(); ++a) {
    if (ages.counts[a] > 0) age_counts[ages.names[a]] = static_cast<long>(ages.counts[a]);
  }
  meta["counts"] = {{"age", age_counts}, {"gender", genders.json()}, {"race", races.json()}};
  ojson groups = ojson::object(), edges = ojson::object();
  std::map<std::string, Histogram> group_hists;
  for (const auto& [name, b] : binnings) {
    group_hists[name] = age_group_histogram(b, rows);
    groups[name] = group_hists[name].json();
    edges[name] = b.edges();
  }
  meta["counts"]["age_group"] = groups;
  meta["age_bin_edges"] = edges;
  write_file_atomic((fs::path(o.out) / kMetaFile).string(), meta.dump(2) + "\n");

  if (!charts_available()) {
    spdlog::warn("EDA charts skipped: built without OpenCV");
    return;
  }
  const fs::path eda = fs::path(o.out) / "eda";
  fs::create_directories(eda);
  write_bar_chart((eda / "age.png").string(), "Images per age", ages.names, ages.counts);
  write_bar_chart((eda / "gender.png").string(), "Images per gender", genders.names, genders.counts);
  write_bar_chart((eda / "race.png").string(), "Images per race", races.names, races.counts);
  for (const auto& [name, h] : group_hists) {
    write_bar_chart((eda / ("age_group_" + name + ".png")).string(), "Images per age group (" + name + ")", h.names,
                    h.counts);
  }
}

// Creates the output folder; unless keep() is called, removes again the folders it created (never one that
// existed before), so a failed run leaves nothing behind.
class OutputDir {
 public:
  explicit OutputDir(const fs::path& dir) {
    std::error_code ec;
    for (fs::path p = fs::absolute(dir).lexically_normal(); p.has_relative_path(); p = p.parent_path()) {
      if (!p.has_filename()) continue;  // "out/" ends in an empty name
      if (fs::symlink_status(p, ec).type() != fs::file_type::not_found) break;  // exists, or cannot tell
      created_ = p;  // the topmost missing folder so far
    }
    fs::create_directories(dir);
  }
  ~OutputDir() {
    std::error_code ec;
    if (!kept_ && !created_.empty()) fs::remove_all(created_, ec);
  }
  void keep() { kept_ = true; }

 private:
  fs::path created_;
  bool kept_ = false;
};

}  // namespace

PrepareReport prepare_dataset(const PrepareOptions& o) {
  if (o.size < 8 || o.size > 1024) throw UsageError("--size " + std::to_string(o.size) + ": expected 8..1024 pixels");
  if (o.out.empty()) throw UsageError("--out is required");
  std::error_code ec;
  if (fs::exists(o.out, ec) && !fs::is_directory(o.out, ec)) {
    throw UsageError("--out " + o.out + " exists and is not a folder (expected a new or existing output folder)");
  }
  check_max_pixels(o.max_pixels);
  const auto t0 = std::chrono::steady_clock::now();
  const int threads = resolve_threads(o.threads, "--threads");

  const SourceListing listing = read_dataset_source(o.data);
  PrepareReport report;
  report.files = listing.files.size() + listing.duplicate_names.size() + listing.skipped.size();
  if (report.files == 0) throw RuntimeError("--data " + o.data + " holds no files");
  std::vector<Rejection> rejected;
  for (const auto& name : listing.duplicate_names) rejected.push_back({name, "duplicate file name (first copy kept)"});
  for (const auto& skip : listing.skipped) rejected.push_back({skip.name, skip.reason});
  std::vector<Candidate> cands;
  for (const auto& f : listing.files) {
    ParsedName p = parse_utkface_name(f.name);
    if (p.label) {
      cands.push_back({&f, *p.label});
    } else {
      rejected.push_back({f.name, "malformed name: " + p.reason});
    }
  }
  if (!o.quiet) {
    spdlog::info("Prepare: {} files read from {}, {} with valid names, decoding on {} threads", report.files, o.data,
                 cands.size(), threads);
  }
  OutputDir out_dir(o.out);
  ImageCacheWriter cache((fs::path(o.out) / kImageCacheFile).string(), cands.size(), o.size, o.size, 3);
  const std::vector<std::string> errors = decode_all(cands, o, threads, cache);

  std::vector<Candidate> ok;
  std::vector<uint64_t> keep;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (errors[i].empty()) {
      ok.push_back(cands[i]);
      keep.push_back(i);
    } else {
      rejected.push_back({cands[i].file->name, errors[i]});
    }
  }
  if (ok.empty()) throw RuntimeError("--data " + o.data + ": no usable images (" + std::to_string(rejected.size()) + " rejected)");

  std::vector<std::string_view> contents;
  std::vector<FaceLabel> labels;
  for (const auto& c : ok) {
    contents.push_back(c.file->bytes);
    labels.push_back(c.label);
  }
  std::vector<std::vector<size_t>> units = find_duplicate_groups(contents);
  report.duplicate_groups = units.size();
  std::vector<std::vector<std::string>> dup_names;
  std::vector<bool> grouped(ok.size(), false);
  for (const auto& g : units) {
    dup_names.emplace_back();
    for (size_t i : g) {
      grouped[i] = true;
      dup_names.back().push_back(ok[i].file->name);
    }
  }
  for (size_t i = 0; i < ok.size(); ++i) {
    if (!grouped[i]) units.push_back({i});
  }
  const std::vector<Split> splits = stratified_split(labels, units, o.split, o.seed);

  std::vector<ManifestRow> rows;
  for (size_t i = 0; i < ok.size(); ++i) {
    rows.push_back({ok[i].file->name, ok[i].label, splits[i]});
    report.split_counts[static_cast<int>(splits[i])]++;
  }
  // The cache is committed first: a manifest never points at a missing or stale cache.
  if (keep.size() == cands.size()) {
    cache.commit();
  } else {
    cache.compact_and_commit(keep);
  }
  write_outputs(o, rows, rejected, dup_names, report.split_counts);
  out_dir.keep();
  report.accepted = rows.size();
  report.rejected = rejected.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace agegender
