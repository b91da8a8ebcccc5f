// The Prometheus text writer: escaping, number forms, histogram lines.
#include "metrics/exposition.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace globaldns::metrics {
namespace {

std::string value_text(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

TEST(Exposition, EscapesLabelValuesAsTheFormatSays) {
  std::string out;
  append_escaped_label_value(out, "a\\b\"c\nd'e");
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd'e");
}

TEST(Exposition, EscapesHelpWithoutTouchingQuotes) {
  Exposition e;
  e.family("x_total", "a \"quoted\" back\\slash\nnewline", Type::Counter);
  EXPECT_EQ(e.text(),
            "# HELP x_total a \"quoted\" back\\\\slash\\nnewline\n# TYPE x_total counter\n");
}

TEST(Exposition, WritesValuesAsGoDoes) {
  // strconv.FormatFloat(v, 'g', -1, 64), as client_golang writes bucket bounds and values.
  EXPECT_EQ(value_text(0.00025), "0.00025");
  EXPECT_EQ(value_text(0.0005), "0.0005");
  EXPECT_EQ(value_text(8.192), "8.192");
  EXPECT_EQ(value_text(64000), "64000");
  EXPECT_EQ(value_text(0), "0");
  EXPECT_EQ(value_text(1234567), "1.234567e+06");
  EXPECT_EQ(value_text(0.00001), "1e-05");
  EXPECT_EQ(value_text(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(value_text(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(value_text(std::nan("")), "NaN");
}

TEST(Exposition, WritesSamplesWithAndWithoutLabels) {
  Exposition e;
  e.sample("a_total", {}, uint64_t{18446744073709551615u});
  e.sample("b", {{"zone", "global."}, {"view", ""}}, 0.5);
  EXPECT_EQ(e.text(), "a_total 18446744073709551615\nb{zone=\"global.\",view=\"\"} 0.5\n");
}

TEST(Exposition, WritesHistogramsCumulativelyWithInfSumAndCount) {
  Exposition e;
  const double bounds[] = {0.5, 1};
  const uint64_t counts[] = {2, 0, 3};  // per bucket; the last is above 1
  const Label labels[] = {{"zone", "x"}};
  e.histogram("h", labels, bounds, counts, 7.25);
  EXPECT_EQ(e.text(),
            "h_bucket{zone=\"x\",le=\"0.5\"} 2\n"
            "h_bucket{zone=\"x\",le=\"1\"} 2\n"
            "h_bucket{zone=\"x\",le=\"+Inf\"} 5\n"
            "h_sum{zone=\"x\"} 7.25\n"
            "h_count{zone=\"x\"} 5\n");
}

}  // namespace
}  // namespace globaldns::metrics
