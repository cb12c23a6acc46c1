#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no UsageError>";
}

}  // namespace

TEST(Config, DefaultsAreValid) {
  const auto c = parse_config(default_config());
  EXPECT_EQ(c.model.arch, "base_cnn");
  EXPECT_EQ(c.labels.age_bins, "intuition");
  EXPECT_TRUE(c.labels.age && c.labels.gender);
  EXPECT_EQ(c.output_dir, "runs");
  EXPECT_GT(config_keys().size(), 30u);
}

TEST(Config, PrecedenceFileThenSet) {
  TempDir tmp;
  write_file(tmp.path() / "base.json", R"({"train": {"epochs": 7, "lr": 0.01}, "data": {"size": 48}})");
  write_file(tmp.path() / "child.json", R"({"extends": "base.json", "train": {"epochs": 9}})");
  const json tree = resolve_config_tree(tmp.str("child.json"), {"train.lr=0.5", "model.arch=vgg16", "labels.tasks=[\"age\"]"});
  const auto c = parse_config(tree);
  EXPECT_EQ(c.train.epochs, 9);       // child overrides base
  EXPECT_DOUBLE_EQ(c.train.lr, 0.5);  // --set overrides both
  EXPECT_EQ(c.data.size, 48);         // inherited
  EXPECT_EQ(c.model.arch, "vgg16");   // bare word parsed as string
  EXPECT_TRUE(c.labels.age);
  EXPECT_FALSE(c.labels.gender);
  EXPECT_FALSE(tree.contains("extends"));
}

TEST(Config, CustomEdges) {
  const auto c = parse_config(resolve_config_tree("", {R"(labels.age_bins={"edges": [0, 18, 65]})"}));
  EXPECT_EQ(c.labels.age_bins, "custom");
  EXPECT_EQ(c.labels.custom_edges, (std::vector<int>{0, 18, 65}));
  EXPECT_NE(usage_error([] { resolve_config_tree("", {R"(labels.age_bins={"edges": [5, 3]})"}); }).find("labels.age_bins.edges"),
            std::string::npos);
}

TEST(Config, UnknownKeySuggestsNearest) {
  auto msg = usage_error([] { resolve_config_tree("", {"train.epoch=3"}); });
  EXPECT_NE(msg.find("unknown key 'train.epoch'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.epochs'"), std::string::npos) << msg;
  msg = usage_error([] { resolve_config_tree("", {"modle.arch=vgg16"}); });
  EXPECT_NE(msg.find("did you mean 'model.arch'"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyAndTypes) {
  auto msg = usage_error([] { resolve_config_tree("", {"train.epochs=\"ten\""}); });
  EXPECT_NE(msg.find("'train.epochs'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected integer"), std::string::npos) << msg;
  msg = usage_error([] { resolve_config_tree("", {"train.epochs=2.5"}); });
  EXPECT_NE(msg.find("expected integer"), std::string::npos) << msg;
  msg = usage_error([] { resolve_config_tree("", {"data.color=yes"}); });
  EXPECT_NE(msg.find("'data.color'"), std::string::npos) << msg;
  EXPECT_NO_THROW(resolve_config_tree("", {"train.lr=1"}));  // an integer is a fine number
}

TEST(Config, OutOfRangeAndEnumValues) {
  for (const char* bad : {"train.lr=0", "train.epochs=0", "data.size=8", "model.dropout=1.5", "train.threads=-1",
                          "train.optimizer=rmsprop", "train.schedule=step", "labels.age_bins=decades",
                          "labels.tasks=[]", "labels.tasks=[\"race\"]", "model.trainable_conv_layers=14", "name=a/b",
                          "train.seed=-3", "train.augment.downscale=1.5", "train.finetune.augment.downscale_min=4"}) {
    const std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    const auto msg = usage_error([&] { resolve_config_tree("", {bad}); });
    EXPECT_NE(msg.find("'" + key), std::string::npos) << bad << " -> " << msg;
  }
  // The low-resolution side must fit the input only while the augmentation is on.
  const auto msg = usage_error([] { resolve_config_tree("", {"train.augment.downscale=0.5", "train.augment.downscale_min=64"}); });
  EXPECT_NE(msg.find("'train.augment.downscale_min'"), std::string::npos) << msg;
  EXPECT_NO_THROW(resolve_config_tree("", {"train.augment.downscale_min=64"}));
}

TEST(Config, MissingPathsAndBadFiles) {
  TempDir tmp;
  EXPECT_NE(usage_error([&] { resolve_config_tree(tmp.str("nope.json"), {}); }).find("not found"), std::string::npos);
  write_file(tmp.path() / "bad.json", "{ not json");
  EXPECT_NE(usage_error([&] { resolve_config_tree(tmp.str("bad.json"), {}); }).find("not valid JSON"), std::string::npos);
  write_file(tmp.path() / "a.json", R"({"extends": "b.json"})");
  write_file(tmp.path() / "b.json", R"({"extends": "a.json"})");
  EXPECT_NE(usage_error([&] { resolve_config_tree(tmp.str("a.json"), {}); }).find("cycle"), std::string::npos);
  EXPECT_NE(usage_error([] { resolve_config_tree("", {"novalue"}); }).find("key.path=value"), std::string::npos);
  EXPECT_NE(usage_error([] { resolve_config_tree("", {"train.epochs.x=1"}); }).find("not a section"), std::string::npos);
}

TEST(Config, ShippedConfigsAreValid) {
  for (const auto& e : fs::recursive_directory_iterator(fs::path(AGEGENDER_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".json" || e.path().parent_path().filename() == "sweeps") continue;
    EXPECT_NO_THROW(resolve_config_tree(e.path().string(), {})) << e.path();
  }
}
