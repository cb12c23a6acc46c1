// The face backbone issue's pieces on generated data: the feature cache of frozen layers (same logits as
// the whole network, rebuilt when its key changes, same training as without it), the year head (class
// probabilities are sums over years, expected age), --age-bins and test-time flips.
#include <gtest/gtest.h>
#include <torch/torch.h>

#ifdef AGEGENDER_HAS_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

#include "agegender/error.hpp"
#include "agegender/evaluator.hpp"
#include "agegender/metrics.hpp"
#include "agegender/predictor.hpp"
#include "agegender/tfjs_weights.hpp"
#include "face_resnet_fixture.hpp"
#include "model/checkpoint.hpp"
#include "model/feature_cache.hpp"
#include "model/inference.hpp"
#include "prepared_fixture.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

// face_resnet at 112 px on `images` generated images, face-api style random weights, the last
// `trainable` conv layers trainable, year head.
struct FaceFixture {
  TempDir tmp;
  PreparedDataset ds;
  ModelInput input;
  FaceNet net{nullptr};

  FaceFixture(int images, int trainable) {
    write_random_face_models(tmp.path() / "models");
    write_prepared_dataset(tmp.path() / "data", images, 112);
    ds = PreparedDataset::open(tmp.str("data"));
    ModelSpec spec;
    spec.arch = "face_resnet";
    spec.input_size = 112;
    spec.trainable_conv_layers = trainable;
    spec.age_head = "years";
    torch::manual_seed(1);
    net = build_model(spec);
    load_face_resnet_features_tfjs(net->feature_extractor(),
                                   read_tfjs_weights(tmp.str("models/face_recognition_model-weights_manifest.json")));
    input.size = input.source_size = 112;
    input.norm = face_resnet_normalization();
  }
};

std::vector<size_t> all_rows(const PreparedDataset& ds) {
  std::vector<size_t> rows(ds.rows.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

FeatureCache::Options quiet_cache(bool fp16) {
  FeatureCache::Options o;
  o.fp16 = fp16;
  o.quiet = true;
  return o;
}

}  // namespace

TEST(FeatureCache, CachedFeaturesGiveTheWholeNetworksLogits) {
  FaceFixture f(12, 8);  // the last stage (conv256_*) trains: cut before conv256_down
  const PreparedDataset& ds = f.ds;
  const ModelInput& input = f.input;
  FaceNet& net = f.net;
  EXPECT_EQ(net->cut_name(), "conv256_down");
  net->eval();
  const SplitData data = load_split(ds, all_rows(ds), AgeBinning::intuition());
  BatchLoader loader(data, input, 12, false, nullptr, 0, 0);
  Batch pixels;
  ASSERT_TRUE(loader.next(pixels));
  torch::NoGradGuard no_grad;
  const ModelOutput whole = net->forward(pixels.x), whole_flip = net->forward(pixels.x.flip({3}));
  for (const bool fp16 : {false, true}) {
    const auto cache = FeatureCache::open_or_build(*net, ds, input, quiet_cache(fp16));
    EXPECT_EQ(cache->shape()[0], 128);
    const std::vector<uint8_t> none(12, 0), all(12, 1);
    const ModelOutput cached = net->forward_from_cut(cache->gather(data.rows, none));
    const ModelOutput cached_flip = net->forward_from_cut(cache->gather(data.rows, all));
    const double tol = fp16 ? 2e-2 : 1e-4;
    EXPECT_TRUE(torch::allclose(cached.age_logits, whole.age_logits, tol, tol)) << "fp16 " << fp16;
    EXPECT_TRUE(torch::allclose(cached.gender_logits, whole.gender_logits, tol, tol)) << "fp16 " << fp16;
    EXPECT_TRUE(torch::allclose(cached_flip.age_logits, whole_flip.age_logits, tol, tol)) << "fp16 " << fp16;
  }
  // A higher cut starts from the (fp16) cache below it and still gives the whole network's logits.
  net->set_trainable_conv_layers(4);
  net->eval();
  const auto derived = FeatureCache::open_or_build(*net, ds, input, quiet_cache(false));
  EXPECT_EQ(derived->shape()[0], 256);
  const ModelOutput above = net->forward_from_cut(derived->gather(data.rows, std::vector<uint8_t>(12, 0)));
  EXPECT_TRUE(torch::allclose(above.age_logits, whole.age_logits, 2e-2, 2e-2));
}

TEST(FeatureCache, RebuiltWhenWeightsSizeCutOrPreprocessingChange) {
  FaceFixture f(6, 8);
  const PreparedDataset& ds = f.ds;
  const ModelInput& input = f.input;
  FaceNet& net = f.net;
  const auto first = FeatureCache::open_or_build(*net, ds, input, quiet_cache(true));
  EXPECT_TRUE(first->built());
  EXPECT_FALSE(FeatureCache::open_or_build(*net, ds, input, quiet_cache(true))->built());  // same key: reused

  {  // frozen weights change
    torch::NoGradGuard no_grad;
    net->feature_extractor()->named_parameters()["conv32_down.conv.bias"].add_(0.5);
  }
  const auto reweighted = FeatureCache::open_or_build(*net, ds, input, quiet_cache(true));
  EXPECT_TRUE(reweighted->built());
  EXPECT_NE(reweighted->key().at("weights_hash"), first->key().at("weights_hash"));
  EXPECT_FALSE(torch::equal(reweighted->gather({0}, {0}), first->gather({0}, {0})));

  ModelInput shifted = input;  // preprocessing changes
  shifted.norm.mean[0] += 0.01f;
  EXPECT_TRUE(FeatureCache::open_or_build(*net, ds, shifted, quiet_cache(true))->built());
  EXPECT_TRUE(FeatureCache::open_or_build(*net, ds, shifted, quiet_cache(false))->built());  // dtype

  ModelInput larger = input;  // input size changes: another file, built
  larger.size = 120;
  const auto big = FeatureCache::open_or_build(*net, ds, larger, quiet_cache(true));
  EXPECT_TRUE(big->built());
  EXPECT_NE(big->path(), first->path());

  net->set_trainable_conv_layers(4);  // cut moves up one block pair
  const auto later = FeatureCache::open_or_build(*net, ds, input, quiet_cache(true));
  EXPECT_TRUE(later->built());
  EXPECT_NE(later->key().at("cut"), first->key().at("cut"));

  // A truncated file is rebuilt, never read.
  fs::resize_file(later->path(), fs::file_size(later->path()) - 10);
  EXPECT_THROW(FeatureCache{later->path()}, RuntimeError);
  EXPECT_TRUE(FeatureCache::open_or_build(*net, ds, input, quiet_cache(true))->built());
}

// Training from the cache is the same computation as training through the frozen layers (fp32 cache,
// flips drawn identically), and pixel augmentation turns the cache off.
TEST(FeatureCache, TrainingFromTheCacheMatchesTrainingThroughTheNetwork) {
  TempDir tmp;
  write_prepared_dataset(tmp.path() / "data", 60, 32);
  const auto cfg = [&](const std::string& name, const std::string& cache, double shift) {
    return resolve_config_tree("", {"data.prepared=" + json(tmp.str("data")).dump(), "data.size=32", "model.trainable_conv_layers=1",
                                    "train.epochs=2", "train.batch_size=16", "train.threads=2", "train.augment.shift=" + std::to_string(shift),
                                    "train.augment.brightness=0", "train.augment.contrast=0", "train.feature_cache=" + cache,
                                    "train.feature_cache_dtype=fp32", "model.age_head=years", "name=" + name,
                                    "output.dir=" + json(tmp.str("runs")).dump()});
  };
  const json cached = train_config(cfg("cached", "auto", 0)).summary;
  const json whole = train_config(cfg("whole", "off", 0)).summary;
  ASSERT_TRUE(cached.contains("feature_cache"));
  EXPECT_FALSE(whole.contains("feature_cache"));
  for (const char* k : {"train_loss", "val_loss", "test_loss", "test_age_mae"}) {
    EXPECT_NEAR(cached.at(k).get<double>(), whole.at(k).get<double>(), 1e-3) << k;
  }
  EXPECT_FALSE(train_config(cfg("shifted", "auto", 0.1)).summary.contains("feature_cache"));
}

TEST(YearHead, ClassProbabilitiesAreSumsOverYearsAndAgeIsTheExpectation) {
  ModelSpec spec;
  spec.age_head = "years";
  spec.num_age_classes = 7;
  const AgeBinning bins = AgeBinning::intuition();
  const HeadDecoder decoder(spec, bins);
  torch::manual_seed(3);
  ModelOutput out;
  out.age_logits = torch::randn({4, kAgeYears});
  out.gender_logits = torch::randn({4, 2});
  const HeadProbs h = decoder.decode(out);
  const auto years = torch::softmax(out.age_logits, 1);
  for (int c = 0; c < 7; ++c) {
    const int lo = bins.edges()[static_cast<size_t>(c)], hi = c + 1 < 7 ? bins.edges()[static_cast<size_t>(c) + 1] : kAgeYears;
    EXPECT_TRUE(torch::allclose(h.age_probs.select(1, c), years.slice(1, lo, hi).sum(1), 1e-5, 1e-6)) << c;
  }
  EXPECT_TRUE(torch::allclose(h.expected_age, (years * torch::arange(kAgeYears, torch::kFloat)).sum(1), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(h.age_probs.sum(1), torch::ones({4}), 1e-5, 1e-5));

  // rebin_years: any binning from the same year probabilities; true classes follow the true ages.
  PredictionSet p;
  p.num_classes = 7;
  p.year_classes = kAgeYears;
  p.year_probs.assign(2 * kAgeYears, 0.0f);
  p.year_probs[5] = 0.5f, p.year_probs[15] = 0.5f;                    // image 0: 5 or 15
  p.year_probs[kAgeYears + 64] = 1.0f;                                // image 1: 64
  p.expected_age = {10.0f, 64.0f};
  p.true_age = {14, 64};
  p.true_class = {2, 6};
  p.true_gender = {0, 1};
  p.true_race = {0, 1};
  p.female_prob = {0.2f, 0.9f};
  p.gender_loss_sum = 0.3;
  const PredictionSet b10 = rebin_years(p, AgeBinning::bin10());
  EXPECT_EQ(b10.num_classes, 10);
  EXPECT_FLOAT_EQ(b10.age_probs[0], 0.5f);
  EXPECT_FLOAT_EQ(b10.age_probs[1], 0.5f);
  EXPECT_FLOAT_EQ(b10.age_probs[10 + 6], 1.0f);
  EXPECT_EQ(b10.true_class, (std::vector<int>{1, 6}));
  EXPECT_NEAR(b10.loss_sum, 0.3 - std::log(0.5), 1e-6);
  const EvalMetrics m = compute_metrics(rebin_years(p, AgeBinning({0, 18, 65})), {});
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);  // both images fall in their true class
  EXPECT_DOUBLE_EQ(m.age_mae, 2.0);   // |10 - 14| and |64 - 64|, from the expected ages

  PredictionSet classes = p;
  classes.year_classes = 0;
  EXPECT_THROW(rebin_years(classes, AgeBinning::bin10()), UsageError);
}

TEST(AgeBins, ParsesNamesAndEdgesAndNamesTheFlagOnErrors) {
  EXPECT_EQ(AgeBinning::parse("bin10", {}, 7, "--age-bins").num_classes(), 10);
  EXPECT_EQ(AgeBinning::parse("intuition", {}, 7, "--age-bins").edges(), AgeBinning::intuition().edges());
  EXPECT_EQ(AgeBinning::parse("balanced", {1, 2, 3, 30, 40, 50, 60, 70}, 3, "--age-bins").num_classes(), 3);
  const AgeBinning custom = AgeBinning::parse(R"({"edges":[0,18,65]})", {}, 7, "--age-bins");
  EXPECT_EQ(custom.edges(), (std::vector<int>{0, 18, 65}));
  EXPECT_EQ(custom.strategy(), "custom");
  for (const char* bad : {"decades", R"({"edges":[5,18]})", R"({"edges":[0,30,18]})", R"({"edges":[0,1.5]})",
                          R"({"edges":[0]})", R"({"edges":[0,200]})", R"({"bins":[0,18]})", "{"}) {
    try {
      AgeBinning::parse(bad, {}, 7, "--age-bins");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--age-bins"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_config(resolve_config_tree("", {"model.age_head=decades"})), UsageError);
  EXPECT_THROW(parse_config(resolve_config_tree("", {"train.age_loss=l1"})), UsageError);
  EXPECT_THROW(parse_config(resolve_config_tree("", {"train.feature_cache_dtype=int8"})), UsageError);
}

// eval scores any binning and flips from one year-head run; a classification head refuses other binnings.
TEST(YearHead, EvalScoresAnyBinningAndTtaAveragesFlips) {
  TempDir tmp;
  write_prepared_dataset(tmp.path() / "data", 60, 32);
  const auto cfg = [&](const std::string& name, const std::string& head) {
    return resolve_config_tree("", {"data.prepared=" + json(tmp.str("data")).dump(), "data.size=32", "train.epochs=1",
                                    "train.threads=2", "model.age_head=" + head, "name=" + name,
                                    "output.dir=" + json(tmp.str("runs")).dump()});
  };
  const std::string years = train_config(cfg("years", "years")).run_dir;
  EvalOptions o;
  o.run_dir = years;
  o.threads = 2;
  const EvalResult own = evaluate_run(o);
  o.age_bins = "bin10";
  const EvalResult b10 = evaluate_run(o);
  EXPECT_EQ(b10.eval.at("class_names").size(), 10u);
  EXPECT_NE(b10.out_dir, own.out_dir);
  EXPECT_DOUBLE_EQ(b10.eval.at("age_mae").get<double>(), own.eval.at("age_mae").get<double>());  // same years
  EXPECT_DOUBLE_EQ(b10.eval.at("gender_accuracy").get<double>(), own.eval.at("gender_accuracy").get<double>());
  o.age_bins = "intuition";  // the run's own binning, named: same numbers
  EXPECT_DOUBLE_EQ(evaluate_run(o).eval.at("accuracy").get<double>(), own.eval.at("accuracy").get<double>());
  o.age_bins = R"({"edges":[0,18,65]})";
  EXPECT_EQ(evaluate_run(o).eval.at("class_names").size(), 3u);
  o.age_bins = "";
  o.tta = true;
  EXPECT_TRUE(evaluate_run(o).eval.at("tta").get<bool>());

  // TTA is the mean of both views' probabilities, so an image and its mirror get the same answer.
  {
    LoadedModel lm = load_trained_model(years);
    torch::NoGradGuard no_grad;
    const HeadDecoder decoder(lm.spec, lm.binning, lm.class_mean_age);
    const auto x = torch::randn({3, 3, 32, 32});
    const HeadProbs a = infer(*lm.model, decoder, x, true), b = infer(*lm.model, decoder, x.flip({3}), true);
    const HeadProbs plain = infer(*lm.model, decoder, x, false), mirrored = infer(*lm.model, decoder, x.flip({3}), false);
    EXPECT_TRUE(torch::allclose(a.age_probs, b.age_probs, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(a.age_probs, (plain.age_probs + mirrored.age_probs) / 2, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(a.female_prob, (plain.female_prob + mirrored.female_prob) / 2, 1e-5, 1e-6));
  }

  const std::string bins = train_config(cfg("bins", "bins")).run_dir;
  o.run_dir = bins;
  o.age_bins = "bin10";
  EXPECT_THROW(evaluate_run(o), UsageError);
}

#ifdef AGEGENDER_HAS_OPENCV  // predict decodes images
// predict with a year head: age group from the summed years, age = the expected age; --tta works.
TEST(YearHead, PredictWritesGroupAndExpectedAge) {
  TempDir tmp;
  write_prepared_dataset(tmp.path() / "data", 40, 32);
  const std::string run = train_config(resolve_config_tree(
      "", {"data.prepared=" + json(tmp.str("data")).dump(), "data.size=32", "train.epochs=1", "train.threads=2",
           "model.age_head=years", "name=m", "output.dir=" + json(tmp.str("runs")).dump()})).run_dir;
  fs::create_directories(tmp.path() / "in");
  for (int i = 0; i < 3; ++i) {
    cv::imwrite(tmp.str("in/face" + std::to_string(i) + ".png"), cv::Mat(48, 48, CV_8UC3, cv::Scalar(40 * i, 90, 200 - 30 * i)));
  }
  for (const bool tta : {false, true}) {
    PredictOptions o;
    o.model = run;
    o.input = tmp.str("in");
    o.out = tmp.str(tta ? "tta.csv" : "plain.csv");
    o.detect = "none";
    o.quiet = true;
    o.tta = tta;
    run_predict(o);
    std::ifstream in(o.out);
    std::string line;
    std::getline(in, line);
    int rows = 0;
    while (std::getline(in, line)) {
      ++rows;
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
      ASSERT_GE(f.size(), 11u) << line;
      EXPECT_FALSE(f[7].empty()) << line;  // age_group
      const double age = std::stod(f[9]);
      EXPECT_GE(age, 0.0);
      EXPECT_LE(age, 116.0);
    }
    EXPECT_EQ(rows, 3);
  }
}
#endif
