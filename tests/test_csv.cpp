#include <gtest/gtest.h>

#include <sstream>

#include "agegender/csv.hpp"
#include "agegender/error.hpp"

using namespace agegender;

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csv_field("plain.jpg"), "plain.jpg");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_line({"a", "", "c"}), "a,,c\n");
}

TEST(Csv, RoundTripsHostileFields) {
  const std::vector<std::vector<std::string>> records = {
      {"file", "age"}, {"1_0_0_2017,01.jpg", "1"}, {"quote\"d", "2"}, {"new\nline\r\nname", ""}, {"", "\"\""}};
  std::string text;
  for (const auto& r : records) text += csv_line(r);
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::string> f;
  for (const auto& want : records) {
    ASSERT_TRUE(reader.next(f));
    EXPECT_EQ(f, want);
  }
  EXPECT_FALSE(reader.next(f));
}

TEST(Csv, ReportsLinesAndMalformedQuotes) {
  std::istringstream in("a,b\n\"x\ny\",z\nlast,1\r\n");
  CsvReader reader(in);
  std::vector<std::string> f;
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 1u);
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 2u);
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 4u);
  EXPECT_EQ(f, (std::vector<std::string>{"last", "1"}));

  std::istringstream open_quote("a,\"never closed\nstill open\n");
  CsvReader r2(open_quote);
  try {
    r2.next(f);
    FAIL() << "expected an error";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("line 1: unterminated quoted field"), std::string::npos) << e.what();
  }
  std::istringstream trailing("\"a\"b,c\n");
  CsvReader r3(trailing);
  EXPECT_THROW(r3.next(f), RuntimeError);
}
