#include <gtest/gtest.h>

#include "agegender/utkface.hpp"

using agegender::parse_utkface_name;

TEST(UtkFaceName, ParsesValidName) {
  const auto p = parse_utkface_name("25_1_3_20170116174525125.jpg.chip.jpg");
  ASSERT_TRUE(p.label) << p.reason;
  EXPECT_EQ(p.label->age, 25);
  EXPECT_EQ(p.label->gender, 1);
  EXPECT_EQ(p.label->race, 3);
  EXPECT_TRUE(p.reason.empty());
}

TEST(UtkFaceName, AcceptsPlainJpgAndAgeBounds) {
  EXPECT_EQ(parse_utkface_name("0_0_0_20170110224238891.jpg").label->age, 0);
  EXPECT_EQ(parse_utkface_name("116_0_0_20170110224238891.jpg.chip.jpg").label->age, 116);
}

TEST(UtkFaceName, RejectsMissingField) {  // the real set's three malformed names look like this
  const auto p = parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg");
  EXPECT_FALSE(p.label);
  EXPECT_NE(p.reason.find("expected 4 fields"), std::string::npos) << p.reason;
}

TEST(UtkFaceName, RejectsExtraUnderscores) {
  EXPECT_FALSE(parse_utkface_name("25_1_3_2017_0116.jpg.chip.jpg").label);
  EXPECT_FALSE(parse_utkface_name("25__1_3_20170116.jpg").label);
}

TEST(UtkFaceName, RejectsOutOfRangeValues) {
  auto p = parse_utkface_name("117_0_0_20170110224238891.jpg.chip.jpg");
  EXPECT_FALSE(p.label);
  EXPECT_NE(p.reason.find("age 117"), std::string::npos) << p.reason;
  p = parse_utkface_name("30_2_0_20170110224238891.jpg.chip.jpg");
  EXPECT_NE(p.reason.find("gender 2"), std::string::npos) << p.reason;
  p = parse_utkface_name("30_0_5_20170110224238891.jpg.chip.jpg");
  EXPECT_NE(p.reason.find("race 5"), std::string::npos) << p.reason;
  EXPECT_FALSE(parse_utkface_name("-1_0_0_20170110224238891.jpg.chip.jpg").label);
}

TEST(UtkFaceName, RejectsNonNumericFields) {
  auto p = parse_utkface_name("abc_0_0_20170110224238891.jpg.chip.jpg");
  EXPECT_NE(p.reason.find("non-numeric age 'abc'"), std::string::npos) << p.reason;
  EXPECT_FALSE(parse_utkface_name("25_m_0_20170110224238891.jpg.chip.jpg").label);
  EXPECT_FALSE(parse_utkface_name("25_0_x_20170110224238891.jpg.chip.jpg").label);
  EXPECT_FALSE(parse_utkface_name("25_0_0_x2017110.jpg.chip.jpg").label);
  EXPECT_FALSE(parse_utkface_name("25_0_0_.jpg.chip.jpg").label);
  EXPECT_FALSE(parse_utkface_name("2 5_0_0_20170110224238891.jpg").label);
  EXPECT_FALSE(parse_utkface_name("99999999999_0_0_20170110224238891.jpg").label);
}

TEST(UtkFaceName, ToleratesDamagedDatetimeWithIntactLabels) {  // two such names are in the real set
  EXPECT_EQ(parse_utkface_name("24_0_1_20170116220224657 .jpg.chip.jpg").label->race, 1);
  EXPECT_EQ(parse_utkface_name("55_0_0_20170116232725357jpg.chip.jpg").label->age, 55);
}

TEST(UtkFaceName, RejectsWrongExtension) {
  const auto p = parse_utkface_name("25_0_0_20170110224238891.png");
  EXPECT_FALSE(p.label);
  EXPECT_NE(p.reason.find("extension"), std::string::npos);
  EXPECT_FALSE(parse_utkface_name("25_0_0_20170110224238891").label);
  EXPECT_FALSE(parse_utkface_name("").label);
}
