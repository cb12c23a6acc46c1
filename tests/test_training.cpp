// End-to-end training, resume and evaluation on a small generated prepared dataset.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agegender/charts.hpp"
#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/evaluator.hpp"
#include "agegender/safetensors.hpp"
#include "agegender/trainer.hpp"
#include "prepared_fixture.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

class Training : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_prepared_dataset(dir_->path() / "data", 400, 32);
  }
  static void TearDownTestSuite() { delete dir_; }

  json config(int epochs, const std::string& name) const {
    return resolve_config_tree("", {"data.prepared=" + json(dir_->str("data")).dump(), "data.size=32",
                                    "train.epochs=" + std::to_string(epochs), "train.batch_size=32", "train.lr=0.003",
                                    "train.threads=2", "train.early_stopping.patience=0", "name=" + name,
                                    "output.dir=" + json(dir_->str("runs")).dump()});
  }
  TrainResult run(const json& cfg, int stop_after = 0) const {
    TrainRequest r;
    r.config = cfg;
    r.quiet = true;
    r.stop_after_epochs = stop_after;
    return train(r);
  }
  static std::vector<std::vector<std::string>> metrics_rows(const std::string& run_dir) {
    std::vector<std::vector<std::string>> rows;
    std::stringstream ss(read_file(fs::path(run_dir) / "metrics.csv"));
    std::string line;
    while (std::getline(ss, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      std::string x;
      while (std::getline(ls, x, ',')) f.push_back(x);
      rows.push_back(f);
    }
    return rows;
  }
  static TempDir* dir_;
};
TempDir* Training::dir_ = nullptr;

}  // namespace

TEST_F(Training, TinyRunLearnsAndWritesItsRunDirectory) {
  const auto r = run(config(5, "learn"));
  ASSERT_TRUE(r.finished);
  const fs::path d = r.run_dir;
  for (const char* f : {"config.json", "metrics.csv", "best.safetensors", "last.safetensors", "summary.json"}) {
    EXPECT_TRUE(fs::exists(d / f)) << f;
  }
  if (charts_available()) EXPECT_TRUE(fs::exists(d / "curves.png"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(d)) events |= e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_TRUE(events);
  const auto rows = metrics_rows(r.run_dir);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(read_file(d / "metrics.csv").substr(0, 43), "epoch,train_loss,train_acc,val_loss,val_acc");
  const double first = std::stod(rows[1][1]), last = std::stod(rows[5][1]);
  EXPECT_LT(last, first * 0.8) << "training loss did not fall: " << first << " -> " << last;
  const json cfg = json::parse(read_file(d / "config.json"));
  EXPECT_EQ(cfg["train"]["epochs"], 5);
  EXPECT_TRUE(cfg["provenance"].contains("git"));
  const json s = r.summary;
  EXPECT_EQ(s["epochs_run"], 5);
  EXPECT_EQ(s["epochs_max"], 5);
  EXPECT_GT(s["test_gender_acc"].get<double>(), 0.7);  // square vs disc is easy
  for (const char* k : {"best_epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}) EXPECT_TRUE(s.contains(k)) << k;

  // eval on the same run reproduces the test metrics of training.
  EvalOptions eo;
  eo.run_dir = r.run_dir;
  eo.threads = 2;
  const EvalResult e = evaluate_run(eo);
  EXPECT_NEAR(e.eval["accuracy"].get<double>(), s["test_acc"].get<double>(), 1e-9);
  EXPECT_NEAR(e.eval["loss"].get<double>(), s["test_loss"].get<double>(), 1e-4);
  for (const char* k : {"top2_accuracy", "gender_accuracy", "age_mae", "confusion_matrix", "per_class", "per_race", "per_gender"}) {
    EXPECT_TRUE(e.eval.contains(k)) << k;
  }
  EXPECT_TRUE(fs::exists(d / "eval.json"));
  EXPECT_TRUE(fs::exists(d / "confusion_matrix.csv"));
  EXPECT_EQ(e.markdown_row.rfind("|Base CNN|Intuition|Color|5 of 5|", 0), 0u) << e.markdown_row;
  eo.split = "val";
  EXPECT_EQ(evaluate_run(eo).out_dir, (d / "eval_val").string());

  // --device: auto and cpu agree on this CPU machine; cuda without a GPU is a usage error naming the flag.
  eo.split = "test";
  eo.device = "cpu";
  EXPECT_NEAR(evaluate_run(eo).eval["accuracy"].get<double>(), s["test_acc"].get<double>(), 1e-9);
  if (!torch::cuda::is_available()) {
    eo.device = "cuda";
    try {
      evaluate_run(eo);
      FAIL() << "--device cuda accepted without a GPU";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--device = \"cuda\""), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(run_cli("eval --run " + r.run_dir + " --device gpu").exit_code, 2);
}

TEST_F(Training, ResumeMatchesAnUninterruptedRunAndSeedIsDeterministic) {
  const auto full = run(config(3, "full"));
  const auto again = run(config(3, "full"));
  EXPECT_EQ(again.run_dir, full.run_dir + "-2");  // never overwrites
  const auto paused = run(config(3, "paused"), /*stop_after=*/1);
  EXPECT_FALSE(paused.finished);
  EXPECT_EQ(metrics_rows(paused.run_dir).size(), 2u);
  TrainRequest resume;
  resume.resume_dir = paused.run_dir;
  resume.quiet = true;
  const auto resumed = train(resume);
  ASSERT_TRUE(resumed.finished);
  const auto a = metrics_rows(full.run_dir), b = metrics_rows(again.run_dir), c = metrics_rows(resumed.run_dir);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(c.size(), 4u);  // one header, no duplicate rows
  for (size_t i = 1; i < a.size(); ++i) {
    for (size_t col = 1; col <= 5; ++col) {  // losses and accuracies (not timings)
      EXPECT_NEAR(std::stod(a[i][col]), std::stod(b[i][col]), 1e-6) << "same seed, row " << i << " col " << col;
      EXPECT_NEAR(std::stod(a[i][col]), std::stod(c[i][col]), 1e-5) << "resumed, row " << i << " col " << col;
    }
  }
  EXPECT_NEAR(full.summary["test_loss"].get<double>(), resumed.summary["test_loss"].get<double>(), 1e-5);
}

TEST_F(Training, BadRequestsFailBeforeWritingAnything) {
  const fs::path out = dir_->path() / "untouched";
  auto cfg = config(1, "x");
  cfg["output"]["dir"] = out.string();
  cfg["data"]["prepared"] = dir_->str("missing");
  EXPECT_THROW(run(cfg), UsageError);
  EXPECT_FALSE(fs::exists(out));
  cfg = config(1, "x");
  cfg["output"]["dir"] = out.string();
  cfg["model"]["pretrained"] = dir_->str("no-such.safetensors");
  try {
    run(cfg);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("model.pretrained"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));

  const auto r = run(config(2, "resumable"), 1);
  TrainRequest resume;
  resume.resume_dir = r.run_dir;
  resume.quiet = true;
  resume.resume_overrides = {"train.epochs=5"};
  try {
    train(resume);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("train.epochs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--init-from"), std::string::npos) << e.what();
  }
  resume.resume_overrides = {"train.threads=1"};  // allowed
  EXPECT_TRUE(train(resume).finished);
  resume.resume_dir = dir_->str("nope");
  EXPECT_THROW(train(resume), UsageError);
}

// The speed settings on the CPU: a bf16 channels-last run learns, continues in fp32 (resume may change
// how steps are computed), and its NCHW checkpoint evaluates to the metrics training reported.
TEST_F(Training, Bf16ChannelsLastRunResumesInFp32AndEvaluates) {
  auto cfg = config(3, "bf16");
  cfg["train"]["amp"] = "bf16";
  cfg["train"]["channels_last"] = true;
  const auto first = run(cfg, 2);
  EXPECT_FALSE(first.finished);
  TrainRequest resume;
  resume.resume_dir = first.run_dir;
  resume.quiet = true;
  resume.resume_overrides = {"train.amp=\"off\"", "train.channels_last=false"};
  const auto r = train(resume);
  ASSERT_TRUE(r.finished);
  const auto rows = metrics_rows(r.run_dir);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_LT(std::stod(rows[3][1]), std::stod(rows[1][1])) << "training loss did not fall";
  EXPECT_GT(r.summary["test_gender_acc"].get<double>(), 0.6);  // 3 epochs; chance is 0.5
  EvalOptions eo;
  eo.run_dir = r.run_dir;
  eo.threads = 2;
  EXPECT_NEAR(evaluate_run(eo).eval["accuracy"].get<double>(), r.summary["test_acc"].get<double>(), 1e-9);

  const fs::path out = dir_->path() / "untouched_fp16";
  cfg["output"]["dir"] = out.string();
  cfg["train"]["amp"] = "fp16";
  try {
    run(cfg);
    FAIL() << "fp16 accepted on the CPU";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'train.amp'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  cfg["train"]["amp"] = "fp8";
  EXPECT_THROW(run(cfg), UsageError);
}

TEST_F(Training, PretrainedFeaturesLoadByNameAndSwitchToImagenetNormalisation) {
  const auto base = run(config(1, "donor"));
  auto cfg = config(1, "transfer");
  cfg["model"]["pretrained"] = base.run_dir + "/best.safetensors";
  const auto r = run(cfg);
  const json meta = json::parse(read_file(fs::path(r.run_dir) / "config.json"));
  EXPECT_EQ(meta["model"]["pretrained"], base.run_dir + "/best.safetensors");
  const StFile ckpt = read_safetensors(r.run_dir + "/best.safetensors");
  const json m = json::parse(ckpt.metadata.at("agegender"));
  EXPECT_NEAR(m["normalization"]["mean"][0].get<double>(), 0.485, 1e-6);

  // VGG16-shaped weights do not fit base_cnn's features: the error lists the mismatches.
  StFile vgg;
  StTensor t;
  t.shape = {64, 3, 3, 3};
  t.data.assign(64 * 27 * 4, '\0');
  vgg.tensors["features.0.weight"] = t;
  vgg.tensors["features.99.weight"] = t;
  write_safetensors(dir_->str("vgg_like.safetensors"), vgg);
  cfg["model"]["pretrained"] = dir_->str("vgg_like.safetensors");
  try {
    run(cfg);
    FAIL();
  } catch (const RuntimeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("shape or dtype mismatch: features.0.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected: features.99.weight"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("age_head"), std::string::npos) << msg;  // outside features.: not an error
    EXPECT_NE(msg.find("missing: "), std::string::npos) << msg;
  }
}

TEST(RunDir, CollisionsGetSuffixes) {
  TempDir tmp;
  EXPECT_EQ(create_run_dir(tmp.str(), "exp"), tmp.str("exp"));
  EXPECT_EQ(create_run_dir(tmp.str(), "exp"), tmp.str("exp-2"));
  EXPECT_EQ(create_run_dir(tmp.str(), "exp"), tmp.str("exp-3"));
}

TEST(TrainCli, UnknownKeyExitsTwoAndWritesNothing) {
  TempDir tmp;
  const auto r = run_cli("train --set train.epoch=3 --set output.dir=" + tmp.str("runs"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean 'train.epochs'"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "runs"));
  EXPECT_EQ(run_cli("eval --run " + tmp.str("nope")).exit_code, 2);
  EXPECT_EQ(run_cli("config --set model.arch=vgg16").exit_code, 0);
  EXPECT_EQ(run_cli("models").exit_code, 0);
}
