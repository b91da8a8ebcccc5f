// Unit tests of sync/origin: an Origin compares and prints exactly as the text it stands for.
#include "sync/origin.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace globaldns::sync {
namespace {

int sign(std::strong_ordering order) {
  return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

int sign(int compared) {
  return compared < 0 ? -1 : (compared > 0 ? 1 : 0);
}

TEST(OriginTest, TextIsWhereAndLine) {
  EXPECT_EQ(Origin("se.yaml").with_line(12).text(), "se.yaml:12");
  EXPECT_EQ(Origin("cluster1").text(), "cluster1");
  EXPECT_EQ(Origin().text(), "");
  EXPECT_EQ(Origin("se.yaml").with_line(12).where(), "se.yaml");
  EXPECT_EQ(Origin("se.yaml").with_line(12).line(), 12u);
}

TEST(OriginTest, OneTextIsInternedOnce) {
  const std::string path = std::string("dir/") + "file.yaml";  // not the literal's storage
  EXPECT_EQ(&Origin(path).where(), &Origin("dir/file.yaml").with_line(3).where());
  EXPECT_NE(&Origin("dir/other.yaml").where(), &Origin(path).where());
}

// The winner rule's last tie-break compared origins as strings: "a.yaml:12" before "a.yaml:9".
TEST(OriginTest, OrdersAsItsText) {
  const Origin twelve = Origin("a.yaml").with_line(12);
  const Origin nine = Origin("a.yaml").with_line(9);
  EXPECT_LT(twelve, nine);
  EXPECT_EQ(twelve, Origin("a.yaml:12"));  // the same text, held differently
  EXPECT_LT(Origin("a.yaml"), Origin("a.yaml").with_line(1));
  EXPECT_LT(Origin("a.yaml").with_line(1), Origin("a.yamlx"));
  EXPECT_LT(Origin("a.yaml:1"), Origin("a.yaml").with_line(10));
  EXPECT_GT(Origin("\xff"), Origin("a"));  // bytes compare unsigned, as std::string does
}

TEST(OriginTest, RandomOriginsCompareAsTheirTexts) {
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {"", "a", "a:", "a:1", "b", ":", "1", "a.yaml", "\xfe"};
  const auto make = [&] {
    Origin origin(pieces[random() % pieces.size()] + pieces[random() % pieces.size()]);
    if (random() % 2 == 0) origin = origin.with_line(static_cast<uint32_t>(random() % 30));
    return origin;
  };
  for (int i = 0; i < 5000; ++i) {
    const Origin a = make();
    const Origin b = make();
    EXPECT_EQ(sign(a <=> b), sign(a.text().compare(b.text()))) << a.text() << " vs " << b.text();
    EXPECT_EQ(a == b, a.text() == b.text()) << a.text() << " vs " << b.text();
  }
}

}  // namespace
}  // namespace globaldns::sync
