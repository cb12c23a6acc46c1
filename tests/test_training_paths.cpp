// Training paths beyond the default run, each end to end on a small generated dataset: --init-from,
// SGD/cosine and plateau schedules across a pause and resume, early stopping, single-task and grayscale
// models through eval and predict, eval on another prepared dataset, and data.subset.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agegender/config.hpp"
#include "agegender/dir_lock.hpp"
#include "agegender/error.hpp"
#include "agegender/evaluator.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/safetensors.hpp"
#include "agegender/trainer.hpp"
#include "model/checkpoint.hpp"
#include "prepared_fixture.hpp"

#ifdef AGEGENDER_HAS_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

class TrainingPaths : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_prepared_dataset(dir_->path() / "data", 200, 24);
    write_prepared_dataset(dir_->path() / "other", 120, 24, /*seed=*/7);
  }
  static void TearDownTestSuite() { delete dir_; }

  static json config(const std::string& name, int epochs, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> sets = {"data.prepared=" + json(dir_->str("data")).dump(), "data.size=24",
                                     "train.epochs=" + std::to_string(epochs), "train.batch_size=32", "train.lr=0.003",
                                     "train.threads=2", "train.early_stopping.patience=0", "name=" + name,
                                     "output.dir=" + json(dir_->str("runs")).dump()};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return resolve_config_tree("", sets);
  }
  static TrainResult run(const json& cfg, int stop_after = 0, const std::string& init_from = "") {
    return train_config(cfg, stop_after, init_from);
  }
  static TrainResult resume(const std::string& run_dir) { return resume_run(run_dir); }
  // metrics.csv rows as numbers (header dropped; empty fields = NaN).
  static std::vector<std::vector<double>> metrics(const std::string& run_dir) {
    std::vector<std::vector<double>> rows;
    std::stringstream ss(read_file(fs::path(run_dir) / "metrics.csv"));
    std::string line;
    std::getline(ss, line);
    while (std::getline(ss, line)) {
      std::vector<double> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x.empty() ? NAN : std::stod(x));
      rows.push_back(f);
    }
    return rows;
  }
  // Losses, accuracies and lr (not timings) of two runs agree epoch by epoch.
  static void expect_same_metrics(const std::string& a_dir, const std::string& b_dir) {
    const auto a = metrics(a_dir), b = metrics(b_dir);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      for (size_t col = 1; col <= 6; ++col) {
        EXPECT_NEAR(a[i][col], b[i][col], 1e-5 + 1e-6 * std::abs(a[i][col])) << "epoch " << i + 1 << " col " << col;
      }
    }
  }
  // Pause after one epoch, resume, and compare with the same config run straight through.
  static void expect_resume_matches(const std::string& name, const std::vector<std::string>& sets) {
    const auto full = run(config(name + "_full", 3, sets));
    const auto paused = run(config(name + "_paused", 3, sets), /*stop_after=*/1);
    ASSERT_FALSE(paused.finished);
    const auto resumed = resume(paused.run_dir);
    ASSERT_TRUE(resumed.finished);
    expect_same_metrics(full.run_dir, resumed.run_dir);
    EXPECT_NEAR(full.summary["test_loss"].get<double>(), resumed.summary["test_loss"].get<double>(), 1e-5);
  }
  static EvalResult eval(const std::string& run_dir, const std::string& data = "", const std::string& predictions = "") {
    EvalOptions o;
    o.run_dir = run_dir;
    o.data = data;
    o.threads = 2;
    o.predictions = predictions;
    return evaluate_run(o);
  }
  // predict --detect none on a few generated JPEG face crops; returns the CSV rows (header dropped).
  static std::vector<std::vector<std::string>> predict_rows(const std::string& run_dir) {
    std::vector<std::vector<std::string>> rows;
#ifdef AGEGENDER_HAS_OPENCV
    const fs::path in = dir_->path() / "crops";
    if (!fs::exists(in)) {
      fs::create_directories(in);
      for (int i = 0; i < 3; ++i) {
        cv::Mat img(48, 48, CV_8UC3, cv::Scalar::all(10));
        cv::circle(img, {24, 24}, 15, cv::Scalar::all(90 + 50 * i), cv::FILLED);
        cv::imwrite((in / ("face" + std::to_string(i) + ".jpg")).string(), img);
      }
    }
    const std::string out = run_dir + "/predictions.csv";
    const auto r = run_cli("predict --model " + run_dir + " --input " + in.string() + " --detect none --threads 2 --quiet --out " + out);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::stringstream ss(read_file(out));
    std::string line;
    std::getline(ss, line);
    EXPECT_EQ(line, "file,frame,face,x,y,w,h,age_group,age_prob,age,gender,gender_prob,error");
    while (std::getline(ss, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
      f.resize(13);  // a trailing empty error field
      rows.push_back(f);
    }
#else
    (void)run_dir;
#endif
    return rows;
  }
  static TempDir* dir_;
};
TempDir* TrainingPaths::dir_ = nullptr;

}  // namespace

TEST_F(TrainingPaths, InitFromStartsANewRunFromAnotherRunsWeights) {
  // The donor's first epoch is what a scratch run of this config does (same seed, no schedule).
  const auto donor = run(config("donor", 2));
  const auto from_dir = run(config("init_dir", 1), 0, donor.run_dir);
  const auto from_file = run(config("init_file", 1), 0, donor.run_dir + "/best.safetensors");
  EXPECT_NE(from_dir.run_dir, donor.run_dir);  // a new run, not a resume
  const auto scratch = metrics(donor.run_dir), a = metrics(from_dir.run_dir);
  // Starting from two epochs of training, the first epoch is already past a scratch run's.
  EXPECT_GT(std::abs(a[0][1] - scratch[0][1]), 1e-3) << "train_loss equals a scratch run's";
  EXPECT_LT(a[0][1], scratch[0][1]);
  // The run directory and its best checkpoint load the same weights: identical first epochs.
  expect_same_metrics(from_dir.run_dir, from_file.run_dir);
  EXPECT_THROW(run(config("init_missing", 1), 0, dir_->str("no-such-run")), UsageError);
}

TEST_F(TrainingPaths, SgdCosineResumesToTheSameMetrics) {
  expect_resume_matches("sgd_cosine", {"train.optimizer=\"sgd\"", "train.schedule=\"cosine\"", "train.lr=0.01"});
  const auto lr = metrics(dir_->str("runs/sgd_cosine_full"));
  EXPECT_NEAR(lr[0][6], 0.01, 1e-9);
  EXPECT_NEAR(lr[1][6], 0.5 * 0.01 * (1 + std::cos(M_PI / 3)), 1e-8);  // cosine after epoch 1 of 3
}

// Plateau patience 0: the LR drops as soon as val_loss fails to improve, so the plateau state saved in
// the checkpoint after epoch 1 decides epoch 3's LR.
TEST_F(TrainingPaths, SgdPlateauResumesToTheSameMetrics) {
  expect_resume_matches("sgd_plateau", {"train.optimizer=\"sgd\"", "train.schedule=\"plateau\"", "train.lr=0.01",
                                        "train.plateau.patience=0"});
}

TEST_F(TrainingPaths, AdamPlateauResumesToTheSameMetrics) {
  expect_resume_matches("adam_plateau", {"train.schedule=\"plateau\"", "train.plateau.patience=0"});
}

TEST_F(TrainingPaths, EarlyStoppingStopsAndRestoresTheBestWeights) {
  // min_delta 100: only the first epoch counts as an improvement, so patience 1 stops after epoch 2.
  const auto r = run(config("early", 6, {"train.early_stopping.patience=1", "train.early_stopping.min_delta=100.0"}));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.summary["epochs_run"], 2);
  EXPECT_EQ(r.summary["epochs_max"], 6);
  EXPECT_TRUE(r.summary["stopped_early"].get<bool>());
  EXPECT_EQ(r.summary["best_epoch"], 1);
  const auto m = metrics(r.run_dir);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_NEAR(r.summary["val_loss"].get<double>(), m[0][3], 1e-5);  // the best epoch's, not the last's
  const json meta = json::parse(read_safetensors(r.run_dir + "/best.safetensors").metadata.at("agegender"));
  EXPECT_EQ(meta["state"]["epoch"], 1);
  // The test metrics were computed on the restored best weights: eval of best.safetensors agrees.
  EXPECT_NEAR(eval(r.run_dir).eval["loss"].get<double>(), r.summary["test_loss"].get<double>(), 1e-4);
}

TEST_F(TrainingPaths, SingleTaskAndGrayscaleRunsThroughEvalAndPredict) {
  struct Case {
    std::string name;
    std::vector<std::string> sets;
    bool age, gender;
    int channels;
  };
  for (const Case& c : {Case{"age_only", {"labels.tasks=[\"age\"]"}, true, false, 3},
                        Case{"gender_only", {"labels.tasks=[\"gender\"]"}, false, true, 3},
                        Case{"gray", {"data.color=false"}, true, true, 1}}) {
    SCOPED_TRACE(c.name);
    const auto r = run(config(c.name, 1, c.sets));
    ASSERT_TRUE(r.finished);
    const json meta = json::parse(read_safetensors(r.run_dir + "/best.safetensors").metadata.at("agegender"));
    EXPECT_EQ(meta["input"]["channels"], c.channels) << meta["input"];
    const auto e = eval(r.run_dir);
    EXPECT_EQ(e.eval["n"], 20);
    if (c.gender) EXPECT_GT(e.eval["gender_accuracy"].get<double>(), 0.0);  // square vs disc: never all wrong
    EXPECT_EQ(e.eval["confusion_matrix"].empty(), !c.age) << e.eval["confusion_matrix"];
    for (const auto& row : predict_rows(r.run_dir)) {
      EXPECT_EQ(row[12], "") << "error: " << row[12];
      EXPECT_EQ(!row[7].empty(), c.age) << "age_group '" << row[7] << "'";
      EXPECT_EQ(!row[10].empty(), c.gender) << "gender '" << row[10] << "'";
    }
  }
}

TEST_F(TrainingPaths, EvalOnAnotherPreparedDataset) {
  const auto r = run(config("cross", 1));
  const std::string predictions = r.run_dir + "/other_predictions.csv";
  const auto e = eval(r.run_dir, dir_->str("other"), predictions);
  // --predictions: one row per image with every class's probability; their column means are eval.json's
  // expected age-group shares, and the shares' total variation is what the true shares say it is.
  std::vector<std::vector<std::string>> rows;  // the fixture's file names hold no commas or quotes
  for (const std::string& line : read_lines(predictions)) {
    rows.emplace_back();
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) rows.back().push_back(x);
  }
  const auto& names = e.eval["class_names"];
  ASSERT_EQ(rows.size(), 13u);  // header + 12 images
  ASSERT_EQ(rows[0].size(), 8 + names.size());
  EXPECT_EQ(rows[0][8], "p_" + names[0].get<std::string>());
  double tv = 0;
  for (size_t c = 0; c < names.size(); ++c) {
    double mean = 0;
    for (size_t i = 1; i < rows.size(); ++i) mean += std::stod(rows[i][8 + c]) / 12.0;
    EXPECT_NEAR(mean, e.eval["age_shares"]["expected"][c].get<double>(), 1e-5);
    tv += 0.5 * std::fabs(mean - e.eval["age_shares"]["true"][c].get<double>());
  }
  EXPECT_NEAR(tv, e.eval["age_shares"]["tv_expected"].get<double>(), 1e-5);
  // scripts/share_sampling.py reads the file and gets the same whole-set TV; with --run it also applies the
  // run's share calibrations (the female share's three estimates are sampled on the same days).
  const auto sampled = run_shell("/usr/bin/python3 " AGEGENDER_SOURCE_DIR "/scripts/share_sampling.py " + predictions +
                                 " --people 6 --days 50 --run " + r.run_dir + " 2>&1");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  char whole[64];
  std::snprintf(whole, sizeof whole, "expected %.3f", e.eval["age_shares"]["tv_expected"].get<double>());
  EXPECT_NE(sampled.output.find(whole), std::string::npos) << sampled.output;
  EXPECT_NE(sampled.output.find("of 50 days"), std::string::npos) << sampled.output;
  for (const char* line : {"TV calibrated", "female share counted", "female share expected", "female share calibrated"}) {
    EXPECT_NE(sampled.output.find(line), std::string::npos) << line << "\n" << sampled.output;
  }
  // scripts/accuracy_at_mae.py reads the same file: eval's accuracy and MAE, and with every error shrunk to
  // nothing every face lands in its group.
  const auto at_mae = run_shell("/usr/bin/python3 " AGEGENDER_SOURCE_DIR "/scripts/accuracy_at_mae.py " + predictions +
                                " --step 0.5 --target 1 2>&1");
  ASSERT_EQ(at_mae.exit_code, 0) << at_mae.output;
  char head[96];
  std::snprintf(head, sizeof head, "argmax accuracy %.2f %%, MAE %.3f", 100 * e.eval["accuracy"].get<double>(),
                e.eval["age_mae"].get<double>());
  EXPECT_NE(at_mae.output.find(head), std::string::npos) << head << "\n" << at_mae.output;
  EXPECT_NE(at_mae.output.find("  0.00 |  0.00   100.00 % |  0.00   100.00 %"), std::string::npos) << at_mae.output;
  EXPECT_NE(at_mae.output.find("100.00 % binned needs MAE <= "), std::string::npos) << at_mae.output;
  EXPECT_EQ(e.out_dir, (fs::path(r.run_dir) / "eval_test_other").string());
  EXPECT_EQ(e.eval["n"], 12);  // every test image of the other dataset (120 images, one in ten is test)
  EXPECT_EQ(e.eval["data"], dir_->str("other"));
  EXPECT_TRUE(fs::exists(fs::path(e.out_dir) / "eval.json"));
  EXPECT_FALSE(fs::exists(fs::path(r.run_dir) / "eval.json"));  // the run's own result is untouched
}

// Training ends by fitting the age- and gender-share calibrations on the validation split into
// best.safetensors; eval --calibrate-shares refits both on other labelled images (the cameras' faces) and
// saves them there.
TEST_F(TrainingPaths, ShareCalibrationIsFittedOnValidationAndRefittedByEval) {
  const auto r = run(config("shares", 1));
  const fs::path best = fs::path(r.run_dir) / "best.safetensors";
  const LoadedModel trained = load_trained_model(r.run_dir);
  ASSERT_EQ(trained.age_share_weights.size(), static_cast<size_t>(trained.binning.num_classes()));
  const json summary = json::parse(read_file(fs::path(r.run_dir) / "summary.json"));
  ASSERT_TRUE(summary.contains("age_share_weights"));
  EXPECT_DOUBLE_EQ(summary["age_share_weights"][trained.binning.class_names()[0]].get<double>(), trained.age_share_weights[0]);
  ASSERT_EQ(trained.gender_share_weights.size(), 2u);
  EXPECT_DOUBLE_EQ(summary["gender_share_weights"]["female"].get<double>(), trained.gender_share_weights[1]);
  const auto before = eval(r.run_dir);
  EXPECT_TRUE(before.eval["age_shares"].contains("tv_calibrated"));
  EXPECT_TRUE(before.eval["female_share"].contains("calibrated"));

  EvalOptions o;
  o.run_dir = r.run_dir;
  o.data = dir_->str("other");
  o.threads = 2;
  o.calibrate_shares = true;
  o.age_bins = "bin10";  // weights belong to the model's own groups
  EXPECT_THROW(evaluate_run(o), UsageError);
  o.age_bins.clear();
  {  // a run another process writes (train --resume) is not rewritten under it
    const DirLock held(r.run_dir, "run");
    EXPECT_THROW(evaluate_run(o), RuntimeError);
  }
  const auto refit = evaluate_run(o);
  EXPECT_TRUE(refit.eval["age_share_weights_refitted"].get<bool>());
  EXPECT_TRUE(refit.eval["gender_share_weights_refitted"].get<bool>());
  // The gender weights are not clamped here: on the images they were fitted on, the calibrated female
  // share is the true one.
  EXPECT_NEAR(refit.eval["female_share"]["calibrated"].get<double>(), refit.eval["female_share"]["true"].get<double>(), 1e-3);
  // On the images it was fitted on, the calibrated shares are nearer the true ones (exactly so only
  // within the weights' 0.1-10 range, which a one-epoch model on 12 images leaves: ShareCalibration tests).
  EXPECT_LT(refit.eval["age_shares"]["tv_calibrated"].get<double>(), refit.eval["age_shares"]["tv_expected"].get<double>());
  const LoadedModel refitted = load_trained_model(r.run_dir);
  EXPECT_NE(refitted.age_share_weights, trained.age_share_weights);
  const json resummary = json::parse(read_file(fs::path(r.run_dir) / "summary.json"));
  EXPECT_DOUBLE_EQ(resummary["age_share_weights"][trained.binning.class_names()[0]].get<double>(), refitted.age_share_weights[0]);
  EXPECT_NE(resummary["age_share_weights_fitted_on"].get<std::string>().find(dir_->str("other")), std::string::npos);
  EXPECT_EQ(resummary["gender_share_weights_fitted_on"], resummary["age_share_weights_fitted_on"]);
  EXPECT_DOUBLE_EQ(resummary["gender_share_weights"]["male"].get<double>(), refitted.gender_share_weights[0]);
  EXPECT_EQ(resummary["test_acc"], summary["test_acc"]) << "the rest of summary.json stays";
  // Nothing else in the checkpoint changed: the same predictions as before.
  const auto after = eval(r.run_dir);
  EXPECT_EQ(after.eval["accuracy"], before.eval["accuracy"]);
  EXPECT_EQ(after.eval["age_shares"]["expected"], before.eval["age_shares"]["expected"]);
  EXPECT_EQ(after.eval["age_shares"]["true"], before.eval["age_shares"]["true"]);
  EXPECT_EQ(after.eval["female_share"]["expected"], before.eval["female_share"]["expected"]);
  EXPECT_TRUE(fs::exists(best));
}

// A year head's run ends by fitting the age calibration on the validation split into best.safetensors and
// scores its test split with it, as eval does; eval --calibrate-ages refits it from the uncalibrated ages
// on other labelled faces and refuses a set too small to fit, writing nothing.
TEST_F(TrainingPaths, AgeCalibrationIsFittedOnValidationAndRefittedByEval) {
  write_prepared_dataset(dir_->path() / "agecal_data", 800, 24, /*seed=*/11);  // 80 validation faces
  const auto r = run(config("agecal", 6, {"model.age_head=\"years\"", "data.prepared=" + json(dir_->str("agecal_data")).dump()}));
  const std::string best = (fs::path(r.run_dir) / "best.safetensors").string();
  const json meta = read_checkpoint_meta(best);
  ASSERT_TRUE(meta.contains("age_calibration")) << "the brightness-coded ages are learnt well enough to fit";
  LoadedModel trained = load_trained_model(r.run_dir);
  EXPECT_FALSE(trained.age_calibration.identity());
  EXPECT_EQ(trained.age_calibration.to_json(), meta["age_calibration"]);
  const json summary = json::parse(read_file(fs::path(r.run_dir) / "summary.json"));
  EXPECT_EQ(summary["age_calibration"], meta["age_calibration"]);
  const auto before = eval(r.run_dir, "", dir_->str("calibrated.csv"));
  EXPECT_NEAR(before.eval["age_mae"].get<double>(), summary["test_age_mae"].get<double>(), 1e-4) << "train and eval agree";
  EXPECT_EQ(before.eval["age_calibration"], meta["age_calibration"]);

  // eval reports every expected age through it: the same model without it gives the uncalibrated ages.
  const auto ages_of = [](const std::string& csv) {
    std::vector<double> ages;
    std::stringstream ss(csv);
    std::string line;
    std::getline(ss, line);
    while (std::getline(ss, line)) {
      std::stringstream ls(line);
      std::string f;
      for (int c = 0; c <= 6; ++c) std::getline(ls, f, ',');  // file,age,gender,race,age_group,age_group_prob,expected_age
      ages.push_back(std::stod(f));
    }
    return ages;
  };
  {
    json m = meta;
    m.erase("age_calibration");
    save_checkpoint(best, *trained.model, nullptr, m);
    eval(r.run_dir, "", dir_->str("raw.csv"));
    save_checkpoint(best, *trained.model, nullptr, meta);
  }
  const auto raw_ages = ages_of(read_file(dir_->path() / "raw.csv"));
  const auto cal_ages = ages_of(read_file(dir_->path() / "calibrated.csv"));
  ASSERT_EQ(raw_ages.size(), cal_ages.size());
  ASSERT_FALSE(raw_ages.empty());
  for (size_t i = 0; i < raw_ages.size(); ++i) EXPECT_NEAR(cal_ages[i], trained.age_calibration.apply(raw_ages[i]), 1e-3 * (1 + cal_ages[i]));

  EvalOptions o;
  o.run_dir = r.run_dir;
  o.data = dir_->str("other");
  o.split = "train";
  o.threads = 2;
  o.calibrate_ages = true;
  const auto refit = evaluate_run(o);
  EXPECT_TRUE(refit.eval["age_calibration_refitted"].get<bool>());
  EXPECT_NE(refit.eval["age_calibration"], meta["age_calibration"]) << "other faces, another fit";
  EXPECT_EQ(load_trained_model(r.run_dir).age_calibration.to_json(), refit.eval["age_calibration"]);
  const json resummary = json::parse(read_file(fs::path(r.run_dir) / "summary.json"));
  EXPECT_EQ(resummary["age_calibration"], refit.eval["age_calibration"]);
  EXPECT_NE(resummary["age_calibration_fitted_on"].get<std::string>().find(dir_->str("other")), std::string::npos);
  // Refitting again on the same faces gives the same map: the fit starts from the uncalibrated ages.
  const auto again = evaluate_run(o);
  EXPECT_EQ(again.eval["age_calibration"], refit.eval["age_calibration"]);
  EXPECT_EQ(eval(r.run_dir).eval["accuracy"], before.eval["accuracy"]) << "age groups are never changed by it";

  // Too few faces to fit: refused, and the checkpoint keeps what it had.
  o.split = "test";  // 12 faces
  try {
    evaluate_run(o);
    FAIL() << "a 12-face fit accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("12 labelled faces (at least 50 needed)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_trained_model(r.run_dir).age_calibration.to_json(), refit.eval["age_calibration"]);

  // A classification head has no expected age of its own to map.
  const auto bins = run(config("agecal_bins", 1));
  EXPECT_FALSE(read_checkpoint_meta((fs::path(bins.run_dir) / "best.safetensors").string()).contains("age_calibration"));
  EXPECT_TRUE(eval(bins.run_dir).eval["age_calibration"].is_null());
  o.run_dir = bins.run_dir;
  try {
    evaluate_run(o);
    FAIL() << "--calibrate-ages accepted for a bins head";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--calibrate-ages maps the expected age of a year head"), std::string::npos) << e.what();
  }
}

TEST_F(TrainingPaths, SubsetUsesFewerImagesDeterministically) {
  const auto a = run(config("subset_a", 1, {"data.subset=0.5"}));
  const auto b = run(config("subset_b", 1, {"data.subset=0.5"}));
  const auto ds = PreparedDataset::open(dir_->str("data"));
  const size_t half = ds.indices(Split::Test, 0.5).size();
  EXPECT_LT(half, ds.indices(Split::Test).size());
  EXPECT_EQ(a.summary["test_images"], half);
  EXPECT_EQ(eval(a.run_dir).eval["n"], half);  // eval scores the run's own data on the same subset
  expect_same_metrics(a.run_dir, b.run_dir);
  EXPECT_EQ(ds.indices(Split::Train, 0.5), ds.indices(Split::Train, 0.5));
}

// train.finetune: a second phase after the cached first one, from its best weights, with every layer
// training on augmented pixels; its warm-up and cosine rates, and a pause anywhere (in either phase or
// at the boundary) resumes to the same epochs.
TEST_F(TrainingPaths, FinetunePhaseFollowsTheCachedPhaseAndResumesAnywhere) {
  const std::vector<std::string> sets = {
      "model.trainable_conv_layers=1", "train.augment.shift=0", "train.augment.brightness=0", "train.augment.contrast=0",
      "train.finetune.epochs=3", "train.finetune.lr=0.002", "train.finetune.warmup_epochs=1",
      "train.finetune.augment.shift=0.05"};
  const auto full = run(config("ft_full", 2, sets));
  ASSERT_TRUE(full.finished);
  const json& s = full.summary;
  EXPECT_EQ(s["epochs_run"], 5);
  EXPECT_EQ(s["epochs_max"], 5);
  EXPECT_EQ(s["finetune"]["from_epoch"], 2);
  EXPECT_EQ(s["finetune"]["epochs"], 3);
  EXPECT_TRUE(s.contains("feature_cache")) << "the first phase trains from cached features";
  const auto m = metrics(full.run_dir);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_NEAR(m[0][6], 0.003, 1e-12);  // train.lr, no schedule
  EXPECT_NEAR(m[2][6], 0.001, 1e-12);  // warm-up: 0.002 * 1/2
  EXPECT_NEAR(m[3][6], 0.002, 1e-12);  // cosine from the peak ...
  EXPECT_NEAR(m[4][6], 0.001, 1e-12);  // ... half way down
  // The fine-tuned checkpoint trains every layer (its spec says so) and evaluates like the run's test.
  const json meta = json::parse(read_safetensors(full.run_dir + "/last.safetensors").metadata.at("agegender"));
  EXPECT_EQ(meta["model"]["trainable_conv_layers"], -1);
  EXPECT_NEAR(eval(full.run_dir).eval["loss"].get<double>(), s["test_loss"].get<double>(), 1e-4);
  for (int stop : {1, 2, 4}) {
    const auto paused = run(config("ft_paused" + std::to_string(stop), 2, sets), stop);
    ASSERT_FALSE(paused.finished) << stop;
    const auto resumed = resume(paused.run_dir);
    ASSERT_TRUE(resumed.finished) << stop;
    expect_same_metrics(full.run_dir, resumed.run_dir);
    EXPECT_NEAR(full.summary["test_loss"].get<double>(), resumed.summary["test_loss"].get<double>(), 1e-5) << stop;
  }
  EXPECT_THROW(parse_config(config("ft_bad", 2, {"train.finetune.epochs=2", "train.finetune.warmup_epochs=2"})), UsageError);
}
