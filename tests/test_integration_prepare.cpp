// Integration test on the real UTKFace archive ($UTKFACE, else ../shared; see utkface_archive.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agegender/prepare.hpp"
#include "agegender/prepared_dataset.hpp"
#include "test_util.hpp"
#include "utkface_archive.hpp"

using namespace agegender;
using namespace agegender::test;

TEST(RealUtkFace, PrepareAcceptsAllButMalformedAndKeepsDuplicatesTogether) {
#ifndef AGEGENDER_HAS_OPENCV
  GTEST_SKIP() << "built without OpenCV: prepare cannot decode";
#endif
  const std::string archive = utkface_path();
  REQUIRE_UTKFACE(archive);
  TempDir tmp;
  PrepareOptions o;
  o.data = archive;
  o.out = tmp.str("utk");
  o.size = 32;
  o.quiet = true;
  const auto r = prepare_dataset(o);
  EXPECT_EQ(r.files, 21307u);
  EXPECT_EQ(r.accepted, 21304u);
  EXPECT_EQ(r.rejected, 3u);
  // The numbers README.md states for the real archive (seed 42, split 0.8/0.1/0.1).
  EXPECT_EQ(r.duplicate_groups, 338u);
  EXPECT_EQ(r.split_counts[0], 17043u);
  EXPECT_EQ(r.split_counts[1], 2132u);
  EXPECT_EQ(r.split_counts[2], 2129u);

  const auto meta = nlohmann::json::parse(read_file(tmp.path() / "utk" / "meta.json"));
  ASSERT_EQ(meta["rejected"].size(), 3u);
  for (const auto& j : meta["rejected"]) {
    EXPECT_NE(j["reason"].get<std::string>().find("expected 4 fields"), std::string::npos) << j.dump();
  }
  const auto ds = PreparedDataset::open(tmp.str("utk"));
  std::map<std::string, Split> split_of;
  for (const auto& row : ds.rows) split_of[row.file] = row.split;
  size_t dup_files = 0;
  for (const auto& group : meta["duplicate_groups"]) {
    const Split first = split_of.at(group[0].get<std::string>());
    for (const auto& f : group) {
      EXPECT_EQ(split_of.at(f.get<std::string>()), first) << "duplicate group split across: " << group.dump();
      ++dup_files;
    }
  }
  std::cout << "[ info     ] " << r.duplicate_groups << " duplicate groups, " << dup_files << " files; split "
            << r.split_counts[0] << "/" << r.split_counts[1] << "/" << r.split_counts[2] << "; " << r.seconds
            << " s\n";
}
