// `agegender embed` on generated images with weights the test writes: rows, formats, error rows, and
// the refusals that keep descriptors (biometric data) from going anywhere unasked.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agegender/csv.hpp"
#include "agegender/embedder.hpp"
#include "agegender/error.hpp"
#include "face_resnet_fixture.hpp"
#include "fixtures.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

struct EmbedFixture : ::testing::Test {
  void SetUp() override {
    write_random_face_models(tmp.path() / "models");
    write_synthetic_dataset(tmp.path() / "in", 5, 64);
    write_file(tmp.path() / "in" / "broken.jpg", "not a jpeg");
  }
  EmbedOptions options(const std::string& out) {
    EmbedOptions o;
    o.input = tmp.str("in");
    o.out = tmp.str(out);
    o.models = tmp.str("models");
    o.detect = "none";
    o.batch = 2;
    o.threads = 2;
    o.quiet = true;
    return o;
  }
  TempDir tmp;
};

}  // namespace

TEST_F(EmbedFixture, JsonlRowsCarryA128FloatDescriptorAndErrorRowsContinue) {
  const EmbedReport r = run_embed(options("d.jsonl"));
  EXPECT_EQ(r.faces, 5u);
  EXPECT_EQ(r.errors, 1u);
  std::ifstream in(tmp.path() / "d.jsonl");
  int rows = 0, errors = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    const json j = json::parse(line);
    if (!j["error"].get<std::string>().empty()) {
      ++errors;
      EXPECT_TRUE(j["descriptor"].is_null());
      EXPECT_NE(j["file"].get<std::string>().find("broken.jpg"), std::string::npos);
      continue;
    }
    ASSERT_EQ(j["descriptor"].size(), 128u);
    EXPECT_EQ(j["w"], 64);
    EXPECT_TRUE(j["frame"].is_null());
  }
  EXPECT_EQ(rows, 6);
  EXPECT_EQ(errors, 1);
}

TEST_F(EmbedFixture, CsvHasColumnsD0ToD127AndMatchesJsonl) {
  run_embed(options("d.jsonl"));
  run_embed(options("d.csv"));
  std::ifstream csv_in(tmp.path() / "d.csv"), json_in(tmp.path() / "d.jsonl");
  CsvReader csv(csv_in);
  std::vector<std::string> f;
  ASSERT_TRUE(csv.next(f));
  ASSERT_EQ(f.size(), 7u + 128u + 1u);
  EXPECT_EQ(f[7], "d0");
  EXPECT_EQ(f[134], "d127");
  std::string line;
  while (csv.next(f) && std::getline(json_in, line)) {
    const json j = json::parse(line);
    if (j["descriptor"].is_null()) continue;
    for (int k = 0; k < 128; k += 31) EXPECT_NEAR(std::stod(f[7 + k]), j["descriptor"][k].get<double>(), 1e-5);
  }
}

TEST_F(EmbedFixture, RefusesWhatWouldLeakOrCannotWork) {
  EmbedOptions o = options("d.jsonl");
  o.out = "-";
  EXPECT_THROW(run_embed(o), UsageError);  // descriptors never go to a terminal
  o.out = tmp.str("d.txt");
  EXPECT_THROW(run_embed(o), UsageError);  // neither .jsonl nor .csv
  o = options("d.jsonl");
  o.models = tmp.str("no-models");
  try {
    run_embed(o);
    FAIL() << "missing models accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fetch_face_models.sh"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "d.jsonl")) << "nothing is written before the checks pass";
  const RunResult help = run_cli("embed --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("biometric"), std::string::npos) << help.output;
}

TEST_F(EmbedFixture, NetworkDetectorsNeedTheirModelsAndSaneOptions) {
  EmbedOptions o = options("d.jsonl");
  o.detect = "ssd";  // the folder holds only the recognition model
  try {
    run_embed(o);
    FAIL() << "ssd without its weights was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fetch_face_models.sh"), std::string::npos) << e.what();
  }
  o.detect = "tiny";
  o.min_score = 1.5f;
  EXPECT_THROW(run_embed(o), UsageError);
  o.detect = "blob";
  EXPECT_THROW(run_embed(o), UsageError);
  const RunResult r = run_cli("embed --input " + tmp.str("in") + " --out " + tmp.str("x.jsonl") + " --detect ssd --min-face -3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "d.jsonl"));
}
