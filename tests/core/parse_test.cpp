#include "actlab/core/parse.h"

#include <gtest/gtest.h>

#include <cmath>

namespace actlab {
namespace {

TEST(Parse, NumbersMustBeTheWholeText) {
  EXPECT_EQ(parse_number("1e-3"), 1e-3);
  EXPECT_EQ(parse_number("+0.5"), 0.5);
  EXPECT_EQ(parse_number("-2"), -2.0);
  EXPECT_TRUE(std::isinf(*parse_number("inf")));
  for (const char* bad : {"", "+", "+-1", "0.5x", " 1", "1 ", "0x10", "one"}) EXPECT_FALSE(parse_number(bad)) << bad;
}

TEST(Parse, IntegersRejectFractionsAndOverflow) {
  EXPECT_EQ(parse_integer("42"), 42);
  EXPECT_EQ(parse_integer("+7"), 7);
  EXPECT_EQ(parse_integer("-7"), -7);
  for (const char* bad : {"", "1.5", "1e3", "99999999999999999999", "12a"}) EXPECT_FALSE(parse_integer(bad)) << bad;
}

}  // namespace
}  // namespace actlab
