#include <gtest/gtest.h>

#include "agegender/error.hpp"
#include "agegender/sweep.hpp"
#include "prepared_fixture.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

TEST(SweepGrid, CartesianProductInFileOrder) {
  const auto pts = expand_grid(nlohmann::ordered_json::parse(R"({"train.lr": [0.1, 0.01], "train.batch_size": [16, 32], "model.arch": ["base_cnn"]})"));
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(pts[0].name, "lr=0.1_batch_size=16_arch=base_cnn");
  EXPECT_EQ(pts[1].name, "lr=0.1_batch_size=32_arch=base_cnn");
  EXPECT_EQ(pts[3].name, "lr=0.01_batch_size=32_arch=base_cnn");
  EXPECT_EQ(pts[3].overrides, (std::vector<std::string>{"train.lr=0.01", "train.batch_size=32", "model.arch=\"base_cnn\""}));
}

TEST(SweepGrid, ExplicitRunsAndAmbiguousLeaves) {
  const auto pts = expand_grid(nlohmann::ordered_json::parse(
      R"({"runs": [{"model.trainable_conv_layers": 1, "model.head": "flatten"}, {"model.head": "gap"}]})"));
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].name, "trainable_conv_layers=1_head=flatten");
  EXPECT_EQ(pts[1].name, "head=gap");
  const auto amb = expand_grid(nlohmann::ordered_json::parse(R"({"train.plateau.patience": [1], "train.early_stopping.patience": [2]})"));
  EXPECT_EQ(amb[0].name, "train.plateau.patience=1_train.early_stopping.patience=2");
}

TEST(SweepGrid, BadGridsAreUsageErrors) {
  for (const char* bad : {R"([])", R"({})", R"({"train.lr": 0.1})", R"({"train.lr": []})", R"({"runs": []})",
                          R"({"runs": [1]})", R"({"runs": [{}], "train.lr": [1]})", R"({"runs": [{"a": 1}, {"a": 1}]})"}) {
    EXPECT_THROW(expand_grid(nlohmann::ordered_json::parse(bad)), UsageError) << bad;
  }
}

TEST(SweepCli, RunsPointsWritesTablesSkipsAndResumes) {
  TempDir tmp;
  write_prepared_dataset(tmp.path() / "data", 160, 24);
  write_file(tmp.path() / "base.json", json{{"data", {{"prepared", tmp.str("data")}, {"size", 24}}},
                                            {"train", {{"epochs", 1}, {"batch_size", 32}}},
                                            {"output", {{"dir", tmp.str("runs")}}}}.dump());
  write_file(tmp.path() / "grid.json", R"({"train.lr": [0.003, 0.0003]})");
  const std::string cmd = "sweep -c " + tmp.str("base.json") + " --grid " + tmp.str("grid.json") + " --name s -j 2 -q";
  auto r = run_cli(cmd + " --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("lr=0.003  [train]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "runs" / "s"));

  r = run_cli(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path sweep = tmp.path() / "runs" / "s";
  for (const char* p : {"lr=0.003", "lr=0.0003"}) {
    EXPECT_TRUE(fs::exists(sweep / p / "summary.json")) << p;
    EXPECT_TRUE(fs::exists(sweep / p / "eval.json")) << p;
  }
  const std::string md = read_file(sweep / "table.md");
  EXPECT_EQ(md.rfind("|Run|Model|Dataset|Images|Epochs|", 0), 0u) << md;
  EXPECT_NE(md.find("(best)"), std::string::npos) << md;
  EXPECT_NE(md.find("|1 of 1|"), std::string::npos) << md;
  EXPECT_NE(read_file(sweep / "table.csv").find("lr=0.003,Base CNN,Intuition,Color,1 of 1,"), std::string::npos);

  // Rerun: both points done. Then one interrupted (no summary) and one that died before a checkpoint.
  r = run_cli(cmd);
  EXPECT_NE(r.output.find("2 already done"), std::string::npos) << r.output;
  fs::remove(sweep / "lr=0.003" / "summary.json");
  fs::remove(sweep / "lr=0.003" / "eval.json");
  for (const char* f : {"summary.json", "eval.json", "last.safetensors", "best.safetensors"}) fs::remove(sweep / "lr=0.0003" / f);
  r = run_cli(cmd + " --dry-run");
  EXPECT_NE(r.output.find("lr=0.003  [resume]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lr=0.0003  [train]"), std::string::npos) << r.output;
  r = run_cli(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 resumed"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(sweep / "lr=0.0003-2"));  // retrained in place, not beside
  EXPECT_TRUE(fs::exists(sweep / "lr=0.003" / "summary.json"));

  r = run_cli("table " + sweep.string() + " --out " + tmp.str("t"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp.path() / "t" / "table.csv"));
  EXPECT_EQ(run_cli("table " + tmp.str("nothing")).exit_code, 2);
  write_file(tmp.path() / "bad_grid.json", R"({"train.lr": [-1]})");
  r = run_cli("sweep -c " + tmp.str("base.json") + " --grid " + tmp.str("bad_grid.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sweep point 'lr=-1'"), std::string::npos) << r.output;
}
