// Issue 10: runs and configs under hostile conditions (a second writer, absurd names and nesting,
// hand-edited configs, missing splits, non-finite losses, numbers no double holds).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agegender/config.hpp"
#include "agegender/dir_lock.hpp"
#include "agegender/error.hpp"
#include "agegender/process.hpp"
#include "agegender/report.hpp"
#include "agegender/safetensors.hpp"
#include "agegender/sweep.hpp"
#include "agegender/trainer.hpp"
#include "prepared_fixture.hpp"
#include "sweep/fs_guard.hpp"
#include "train/selection.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

class HostileRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_prepared_dataset(dir_->path() / "data", 200, 24);
  }
  static void TearDownTestSuite() { delete dir_; }

  static json config(const std::string& name, int epochs = 2, const std::string& data = "data") {
    return resolve_config_tree("", {"data.prepared=" + json(dir_->str(data)).dump(), "data.size=24",
                                    "train.epochs=" + std::to_string(epochs), "train.batch_size=32", "train.threads=2",
                                    "name=" + name, "output.dir=" + json(dir_->str("runs")).dump()});
  }
  static TrainResult run(const json& cfg, int stop_after = 0, const std::string& init_from = "") {
    return train_config(cfg, stop_after, init_from);
  }
  static TrainResult resume(const std::string& run_dir) { return resume_run(run_dir); }
  // A copy of the generated dataset with every row of split `from` moved to `to`.
  static std::string dataset_without(const std::string& from, const std::string& to) {
    const fs::path out = dir_->path() / ("data_no_" + from);
    if (!fs::exists(out)) {
      fs::create_directories(out);
      fs::copy_file(dir_->path() / "data" / kImageCacheFile, out / kImageCacheFile);
      std::stringstream in(read_file(dir_->path() / "data" / kManifestFile));
      std::string text, line;
      while (std::getline(in, line)) {
        const std::string tail = "," + from;
        if (line.size() > tail.size() && line.compare(line.size() - tail.size(), tail.size(), tail) == 0) {
          line = line.substr(0, line.size() - tail.size()) + "," + to;
        }
        text += line + "\n";
      }
      write_file(out / kManifestFile, text);
    }
    return out.filename().string();
  }
  static TempDir* dir_;
};
TempDir* HostileRun::dir_ = nullptr;

}  // namespace

// 1. One writer per run directory and per sweep.
TEST(HostileRunLock, SecondLockOnADirectoryNamesTheHolder) {
  TempDir tmp;
  EXPECT_EQ(dir_lock_holder(tmp.str()), "");
  {
    const DirLock first(tmp.str(), "run");
    const std::string holder = dir_lock_holder(tmp.str());
    EXPECT_NE(holder.find("pid " + std::to_string(getpid())), std::string::npos) << holder;
    try {
      DirLock second(tmp.str(), "run");
      FAIL() << "second lock granted";
    } catch (const RuntimeError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("run " + tmp.str() + " is in use by pid " + std::to_string(getpid())), std::string::npos) << msg;
      EXPECT_NE(msg.find("unit_tests"), std::string::npos) << msg;  // the holder's command line
    }
  }
  EXPECT_EQ(dir_lock_holder(tmp.str()), "");  // released with its holder
  EXPECT_NO_THROW({ const DirLock again(tmp.str(), "run"); });
}

TEST_F(HostileRun, SecondTrainerOnALockedRunFailsNamingTheHolder) {
  const auto paused = run(config("locked", 2), 1);
  ASSERT_FALSE(paused.finished);
  const std::string metrics_before = read_file(fs::path(paused.run_dir) / "metrics.csv");
  {
    const DirLock holder(paused.run_dir, "run");  // stands in for a first `train --resume` still running
    const std::string msg = message_of([&] { resume(paused.run_dir); });
    EXPECT_NE(msg.find("is in use by pid " + std::to_string(getpid())), std::string::npos) << msg;
    const auto r = run_cli("train --resume " + paused.run_dir + " --quiet");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("is in use by pid " + std::to_string(getpid())), std::string::npos) << r.output;
    EXPECT_EQ(read_file(fs::path(paused.run_dir) / "metrics.csv"), metrics_before);  // nothing appended
  }
  const auto done = resume(paused.run_dir);
  EXPECT_TRUE(done.finished);
  EXPECT_EQ(done.summary["epochs_run"], 2);
}

TEST_F(HostileRun, SecondSweepAndOrphanedPointsAreRefused) {
  write_file(dir_->path() / "lock_base.json", config("x", 1).dump());
  write_file(dir_->path() / "lock_grid.json", R"({"train.lr": [0.003]})");
  const std::string cmd = "sweep -c " + dir_->str("lock_base.json") + " --grid " + dir_->str("lock_grid.json") + " -q --name ";
  const fs::path sweep = dir_->path() / "runs" / "busy";
  fs::create_directories(sweep);
  {
    const DirLock first_sweep(sweep.string(), "sweep");
    const auto r = run_cli(cmd + "busy");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("sweep " + sweep.string() + " is in use by pid " + std::to_string(getpid())), std::string::npos)
        << r.output;
  }
  // A point left without a checkpoint would be restarted from scratch, but not while a trainer from an
  // earlier, killed sweep still holds it.
  const fs::path point = dir_->path() / "runs" / "orphan" / "lr=0.003";
  fs::create_directories(point);
  write_file(point / "marker", "x");
  {
    const DirLock orphan(point.string(), "run");
    const auto r = run_cli(cmd + "orphan");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("still being trained by pid " + std::to_string(getpid())), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(point / "marker"));  // not removed under the orphan's feet
  }
}

TEST(HostileRunProcess, ChildThatCannotStartIsAnErrorAndLogsAreAppended) {
  TempDir tmp;
  const std::string log = tmp.str("x.log");
  EXPECT_EQ(run_process({"/bin/sh", "-c", "echo one; exit 3"}, log), 3);
  EXPECT_EQ(run_process({"/bin/sh", "-c", "echo two >&2"}, log), 0);
  EXPECT_EQ(read_file(log), "one\ntwo\n");
  EXPECT_THROW(run_process({tmp.str("no-such-binary")}, log), RuntimeError);
  EXPECT_THROW(run_process({"/bin/true"}, tmp.str("no-dir/x.log")), RuntimeError);
}

// 2. Point names fit in a file name; filesystem errors are RuntimeErrors naming the path.
TEST(HostileRunSweep, LongPointNamesAreShortenedDeterministically) {
  const std::string a(300, 'a'), b = std::string(299, 'a') + "b";
  const auto grid = nlohmann::ordered_json::parse(R"({"name": [")" + a + R"(", ")" + b + R"("]})");
  const auto pts = expand_grid(grid);
  ASSERT_EQ(pts.size(), 2u);
  for (const auto& p : pts) EXPECT_LE(p.name.size(), 200u) << p.name;
  EXPECT_NE(pts[0].name, pts[1].name);
  EXPECT_EQ(pts[0].name.rfind("name=aaaa", 0), 0u) << pts[0].name;
  EXPECT_EQ(expand_grid(grid)[0].name, pts[0].name);  // stable across runs: reruns find their points
  EXPECT_EQ(pts[0].overrides[0], "name=\"" + a + "\"");  // the override itself is untouched

  const std::string msg = message_of([] {
    filesystem_errors_as_runtime("sweep", [] { return fs::exists(std::string(300, 'x') + "/y"); });
  });
  EXPECT_NE(msg.find("sweep: "), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::string(300, 'x')), std::string::npos) << msg;
}

TEST_F(HostileRun, SweepWithLongPointNamesPlansWithoutAborting) {
  const std::string v = json(std::string(400, 'v')).dump();
  write_file(dir_->path() / "long_grid.json", R"({"train.augment.hflip": [true], "name": [)" + v + "]}");
  write_file(dir_->path() / "long_base.json", config("x").dump());
  const auto r = run_cli("sweep -c " + dir_->str("long_base.json") + " --grid " + dir_->str("long_grid.json") + " --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hflip=true_name=vvv"), std::string::npos) << r.output;
}

// 3. Nesting depth is bounded before nlohmann's recursive parser sees the text.
TEST(HostileRunConfig, DeeplyNestedJsonIsAUsageErrorNamingTheSource) {
  TempDir tmp;
  const std::string deep = std::string(70000, '[') + std::string(70000, ']');
  write_file(tmp.path() / "deep.json", "{\"train\": " + deep + "}");
  try {
    load_config_file(tmp.str("deep.json"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp.str("deep.json")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  json tree = default_config();
  try {
    apply_override(tree, "train.lr=" + deep);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--set 'train.lr'"), std::string::npos) << e.what();
  }
  write_file(tmp.path() / "grid.json", "{\"train.lr\": " + deep + "}");
  SweepOptions o;
  o.grid = tmp.str("grid.json");
  try {
    plan_sweep(o);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--grid " + tmp.str("grid.json")), std::string::npos) << e.what();
  }
  // Brackets inside strings do not count; 64 levels are fine.
  EXPECT_NO_THROW(check_json_depth("[\"" + std::string(100, '[') + "\"]", "x"));
  EXPECT_NO_THROW(check_json_depth(std::string(64, '[') + std::string(64, ']'), "x"));
  const auto r = run_cli("config -c " + tmp.str("deep.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

// 4. A hand-edited config.json of a paused run is refused on resume.
TEST_F(HostileRun, HandEditedConfigIsRefusedOnResume) {
  const auto paused = run(config("edited", 3), 1);
  const fs::path cfg_path = fs::path(paused.run_dir) / "config.json";
  const std::string original = read_file(cfg_path);
  json cfg = json::parse(original);
  cfg["train"]["lr"] = 0.5;
  cfg["train"]["threads"] = 1;  // allowed to change: not part of the hash
  write_file(cfg_path, cfg.dump(2));
  try {
    resume(paused.run_dir);
    FAIL() << "edited config accepted";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no longer matches"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'train.lr' (0.001 -> 0.5)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--init-from"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("train.threads"), std::string::npos) << msg;
  }
  cfg["train"]["lr"] = 0.001;
  write_file(cfg_path, cfg.dump(2));  // only threads differ now
  const auto a = resume(paused.run_dir);  // pauses nothing: runs to the end
  EXPECT_TRUE(a.finished);

  // Checkpoints from before config hashes are accepted (with a warning).
  const auto old = run(config("old_ckpt", 2), 1);
  const std::string last = old.run_dir + "/last.safetensors";
  StFile f = read_safetensors(last);
  json meta = json::parse(f.metadata.at("agegender"));
  ASSERT_TRUE(meta.contains("config_hash"));
  meta.erase("config_hash");
  f.metadata["agegender"] = meta.dump();
  write_safetensors(last, f);
  EXPECT_TRUE(resume(old.run_dir).finished);
}

TEST(HostileRunConfig, ConfigHashIgnoresProvenanceAndResumableKeys) {
  const json base = default_config();
  json other = base;
  other["provenance"] = {{"host", "h"}};
  other["train"]["threads"] = 7;
  other["train"]["device"] = "auto";
  other["train"]["log_interval"] = 3;
  EXPECT_EQ(config_hash(base), config_hash(other));
  other["train"]["lr"] = 0.5;
  EXPECT_NE(config_hash(base), config_hash(other));
  EXPECT_EQ(config_hash(base).size(), 16u);
}

// 5. Missing splits are said, and shown as "-", never as 0.00%.
TEST_F(HostileRun, NoTestSplitGivesNullTestMetricsAndDashesInTables) {
  auto cfg = config("no_test", 1, dataset_without("test", "val"));
  const auto r = run(cfg);
  ASSERT_TRUE(r.finished);
  for (const char* k : {"test_loss", "test_acc", "test_top2_accuracy", "test_gender_acc", "test_age_mae"}) {
    EXPECT_TRUE(r.summary[k].is_null()) << k << " = " << r.summary[k];
  }
  EXPECT_TRUE(json::parse(read_file(fs::path(r.run_dir) / "summary.json"))["test_acc"].is_null());
  const std::string row = markdown_row(table_row_from_summary(r.summary));
  EXPECT_NE(row.find("|-|-|-|"), std::string::npos) << row;  // Test_Acc, Gender_Acc, Age_MAE
  EXPECT_EQ(row.find("0.00%"), std::string::npos) << row;
  const auto fields = csv_row(table_row_from_summary(r.summary));
  EXPECT_EQ(fields[5], "-");  // test_loss
  EXPECT_EQ(fields[7], "-");  // test_acc
  const std::string md = build_table({r.run_dir}, "");
  EXPECT_EQ(md.find("(best)"), std::string::npos) << md;  // no test accuracy: nothing to crown
  const auto cli = run_cli("eval --run " + r.run_dir);
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_NE(cli.output.find("no 'test' images"), std::string::npos) << cli.output;
}

TEST_F(HostileRun, NoValSplitSelectsOnTrainingLossAndLeavesValEmpty) {
  const auto r = run(config("no_val", 2, dataset_without("val", "train")));
  ASSERT_TRUE(r.finished);
  EXPECT_TRUE(r.summary["val_loss"].is_null()) << r.summary["val_loss"];
  EXPECT_TRUE(fs::exists(fs::path(r.run_dir) / "best.safetensors"));
  std::stringstream csv(read_file(fs::path(r.run_dir) / "metrics.csv"));
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  EXPECT_NE(row.find(",,,"), std::string::npos) << row;  // val_loss, val_acc, val_gender_acc empty
  EXPECT_FALSE(r.summary["test_acc"].is_null());
}

// 6. A non-finite selection loss never improves, and a run always has a best checkpoint.
TEST(HostileRunSelection, NonFiniteLossNeverImprovesButFirstEpochSavesBest) {
  const double inf = INFINITY;
  auto v = judge_epoch(NAN, inf, 0.0, /*have_best=*/false);
  EXPECT_FALSE(v.improved);
  EXPECT_TRUE(v.save_best);  // epoch 1 with a NaN val loss still leaves best.safetensors
  v = judge_epoch(NAN, 0.5, 0.0, true);
  EXPECT_FALSE(v.improved);
  EXPECT_FALSE(v.save_best);
  v = judge_epoch(inf, inf, 0.0, true);
  EXPECT_FALSE(v.improved);
  v = judge_epoch(0.7, inf, 0.0, true);  // the first finite loss after NaN epochs takes over
  EXPECT_TRUE(v.improved);
  EXPECT_TRUE(v.save_best);
  v = judge_epoch(0.45, 0.5, 0.1, true);  // within min_delta
  EXPECT_FALSE(v.improved);
}

// 7. Numbers no double holds, directories as config files, out-of-range integers, too-small inputs.
TEST(HostileRunConfig, OverflowingNumbersAndFoldersAreCleanUsageErrors) {
  TempDir tmp;
  json tree = default_config();
  try {
    apply_override(tree, "train.lr=1e400");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'train.lr'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("[json.exception"), std::string::npos) << e.what();
  }
  write_file(tmp.path() / "big.json", R"({"train": {"lr": 1e400}})");
  try {
    load_config_file(tmp.str("big.json"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp.str("big.json")), std::string::npos) << e.what();
  }
  fs::create_directories(tmp.path() / "folder");
  write_file(tmp.path() / "ext.json", R"({"extends": "folder"})");
  try {
    load_config_file(tmp.str("ext.json"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'extends' = \"folder\" is a directory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config_file(tmp.str("folder")), UsageError);

  auto r = run_cli("config --set train.lr=1e400");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.lr"), std::string::npos) << r.output;
  r = run_cli("config --set train.epochs=4294967297");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'train.epochs' = 4294967297"), std::string::npos) << r.output;
  try {
    resolve_config_tree("", {"model.arch=vgg16", "data.size=24"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'data.size' = 24, expected at least 32 for model.arch vgg16"), std::string::npos)
        << e.what();
  }
}
