#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agegender/error.hpp"
#include "agegender/prepare.hpp"
#include "agegender/prepared_dataset.hpp"
#include "test_util.hpp"

#ifdef AGEGENDER_HAS_OPENCV
#include "fixtures.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

// 60 good faces + 3 malformed names + a text file named .jpg + a truncated JPEG + a duplicate pair.
void write_messy_dataset(const fs::path& dir) {
  write_synthetic_dataset(dir, 60);
  const std::string face = encode_jpg(synthetic_face(30, 1, 999));
  write_file(dir / "39_1_20170116174525125.jpg.chip.jpg", face);
  write_file(dir / "61_1_20170109142408075.jpg.chip.jpg", face);
  write_file(dir / "notes.txt", "hello");
  write_file(dir / utk_name(40, 0, 1, 900), "this is not a jpeg");
  write_file(dir / utk_name(41, 0, 1, 901), face.substr(0, face.size() / 2));
  write_file(dir / utk_name(30, 1, 2, 902), face);  // byte-identical pair
  write_file(dir / utk_name(31, 1, 2, 903), face);
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

}  // namespace

TEST(Prepare, ValidatesSplitsAndCaches) {
  TempDir tmp;
  write_messy_dataset(tmp.path() / "raw");
  PrepareOptions o;
  o.data = tmp.str("raw");
  o.out = tmp.str("out");
  o.size = 32;
  o.quiet = true;
  o.split = {0.6, 0.2, 0.2};
  const auto r = prepare_dataset(o);
  EXPECT_EQ(r.files, 67u);
  EXPECT_EQ(r.accepted, 62u);
  EXPECT_EQ(r.rejected, 5u);
  EXPECT_EQ(r.duplicate_groups, 1u);
  EXPECT_EQ(r.split_counts[0] + r.split_counts[1] + r.split_counts[2], 62u);

  const auto meta = read_json(tmp.path() / "out" / "meta.json");
  EXPECT_EQ(meta["accepted"], 62);
  EXPECT_EQ(meta["image_size"], 32);
  ASSERT_EQ(meta["rejected"].size(), 5u);
  std::map<std::string, std::string> reasons;
  for (const auto& j : meta["rejected"]) reasons[j["file"]] = j["reason"];
  EXPECT_NE(reasons["39_1_20170116174525125.jpg.chip.jpg"].find("malformed name"), std::string::npos);
  EXPECT_NE(reasons["notes.txt"].find("extension"), std::string::npos);
  EXPECT_NE(reasons[utk_name(40, 0, 1, 900)].find("cannot decode"), std::string::npos);
  EXPECT_NE(reasons[utk_name(41, 0, 1, 901)].find("truncated"), std::string::npos);
  ASSERT_EQ(meta["duplicate_groups"].size(), 1u);
  EXPECT_EQ(meta["duplicate_groups"][0].size(), 2u);
  EXPECT_EQ(meta["counts"]["gender"]["male"].get<int>() + meta["counts"]["gender"]["female"].get<int>(), 62);
  for (const char* b : {"bin10", "balanced", "intuition"}) EXPECT_TRUE(meta["counts"]["age_group"].contains(b)) << b;
  EXPECT_EQ(meta["split_counts"]["train"], r.split_counts[0]);

  const auto ds = PreparedDataset::open(tmp.str("out"));
  ASSERT_EQ(ds.rows.size(), 62u);
  EXPECT_EQ(ds.cache->header().height, 32u);
  std::map<std::string, Split> split_of;
  for (const auto& row : ds.rows) split_of[row.file] = row.split;
  EXPECT_EQ(split_of[utk_name(30, 1, 2, 902)], split_of[utk_name(31, 1, 2, 903)]);
  for (const char* png : {"age.png", "gender.png", "race.png", "age_group_bin10.png", "age_group_balanced.png",
                          "age_group_intuition.png"}) {
    EXPECT_GT(fs::file_size(tmp.path() / "out" / "eda" / png), 1000u) << png;
  }
}

TEST(Prepare, SameInputGivesByteIdenticalOutputs) {
  TempDir tmp;
  write_messy_dataset(tmp.path() / "raw");
  PrepareOptions o;
  o.data = tmp.str("raw");
  o.size = 24;
  o.quiet = true;
  o.out = tmp.str("a");
  o.threads = 1;
  prepare_dataset(o);
  o.out = tmp.str("b");
  o.threads = 3;
  prepare_dataset(o);
  for (const char* f : {"manifest.csv", "meta.json", "images.bin", "eda/age.png"}) {
    EXPECT_EQ(read_file(tmp.path() / "a" / f), read_file(tmp.path() / "b" / f)) << f;
  }
}

TEST(Prepare, ReadsTarGzAndTestOnlySplit) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "UTKFace", 20);
  const std::string tgz = tmp.str("utk.tar.gz");
  ASSERT_EQ(std::system(("tar -czf " + tgz + " -C " + tmp.str() + " UTKFace").c_str()), 0);
  PrepareOptions o;
  o.data = tgz;
  o.out = tmp.str("out");
  o.size = 16;
  o.quiet = true;
  o.split = SplitFractions::parse("0,0,1");
  const auto r = prepare_dataset(o);
  EXPECT_EQ(r.accepted, 20u);
  EXPECT_EQ(r.split_counts[2], 20u);
}

TEST(Prepare, NothingUsableIsARuntimeError) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "raw");
  write_file(tmp.path() / "raw" / "bad_name.jpg", "x");
  PrepareOptions o;
  o.data = tmp.str("raw");
  o.out = tmp.str("out");
  o.quiet = true;
  EXPECT_THROW(prepare_dataset(o), RuntimeError);
  o.data = tmp.str("missing");
  EXPECT_THROW(prepare_dataset(o), UsageError);
}

TEST(PrepareCli, ExitCodesAndSummary) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "raw", 12);
  auto r = run_cli("prepare --data " + tmp.str("raw") + " --out " + tmp.str("out") + " --size 16 --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("prepared 12 images"), std::string::npos) << r.output;
  r = run_cli("prepare --data " + tmp.str("nope") + " --out " + tmp.str("out2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(tmp.str("nope")), std::string::npos) << r.output;
  r = run_cli("prepare --data " + tmp.str("raw") + " --out " + tmp.str("out3") + " --split 0.5,0.5,0.5");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sum to 1"), std::string::npos) << r.output;
  r = run_cli("prepare --out x");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_cli("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("agegender 0."), std::string::npos) << r.output;
}
#else
TEST(Prepare, NeedsOpenCv) {
  agegender::PrepareOptions o;
  o.out = "x";
  EXPECT_THROW(agegender::prepare_dataset(o), agegender::UsageError);
}
#endif
