#include <gtest/gtest.h>

#include "agegender/duplicates.hpp"

TEST(Duplicates, GroupsByteIdenticalContents) {
  const std::vector<std::string> files = {"aaa", "bbb", "aaa", "ccc", "bbb", "aaa", "aab", ""};
  std::vector<std::string_view> views(files.begin(), files.end());
  const auto groups = agegender::find_duplicate_groups(views);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<size_t>{0, 2, 5}));
  EXPECT_EQ(groups[1], (std::vector<size_t>{1, 4}));
}

TEST(Duplicates, NoneWhenAllDistinct) {
  const std::vector<std::string> files = {"a", "b", "c"};
  std::vector<std::string_view> views(files.begin(), files.end());
  EXPECT_TRUE(agegender::find_duplicate_groups(views).empty());
}
