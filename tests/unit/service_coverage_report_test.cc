// The streaming coverage-report parser: the wire format of the reporters (with and without `total`,
// unknown fields of any shape), every validation rule with its message, and the compact result.
#include <gtest/gtest.h>

#include "service/coverage_report.h"

namespace rt {
namespace {

EncodedCoverage parsed(std::string_view body) {
  auto r = parse_coverage_report(body);
  EXPECT_TRUE(r.ok()) << body << " -> " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : EncodedCoverage{};
}

std::string refusal(std::string_view body) {
  auto r = parse_coverage_report(body);
  if (r.ok()) return "(accepted)";
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  return r.error().message;
}

TEST(CoverageReport, CurrentReporterFormat) {
  auto r = parsed(R"({"fileReports":[{"filename":"src/a.js","coverage":{"1":1,"2":0,"10":7}},
                                     {"filename":"src/b.js","coverage":{}}]})");
  EXPECT_EQ(r.files, 2);
  EXPECT_EQ(r.coverable, 3);
  EXPECT_EQ(r.covered, 2);
  auto files = decode_coverage(r.data).value();
  EXPECT_EQ(files[0].name, "src/a.js");
  EXPECT_EQ(files[0].lines, (std::vector<LineHits>{{1, 1}, {2, 0}, {10, 7}}));
}

TEST(CoverageReport, OlderFormatWithTotalsAndUnknownFieldsOfAnyShape) {
  auto r = parsed(R"({"total":50,"extra":{"a":[1,{"b":null}]},"fileReports":[
      {"total":50,"x":[[],{}],"coverage":{"3":0,"4":2},"filename":"lib/c.py","y":true}],"z":"s"})");
  EXPECT_EQ(r.files, 1);
  EXPECT_EQ(r.covered, 1);
  EXPECT_EQ(r.coverable, 2);
  // `total` is ignored even when it is wrong.
  EXPECT_EQ(parsed(R"({"total":99,"fileReports":[{"filename":"a","total":3,"coverage":{"1":0}}]})").covered, 0);
}

TEST(CoverageReport, FileNamesMustBeRelativeAndClean) {
  for (const char* bad : {R"("")", R"("/etc/passwd")", R"("../x.c")", R"("a/../../x.c")", R"("a/..")",
                          R"("\\server\\x")", R"("C:\\x.c")", R"("a\\..\\b")", R"("a\u0000b")"}) {
    std::string body = std::string(R"({"fileReports":[{"filename":)") + bad + R"(,"coverage":{"1":1}}]})";
    EXPECT_NE(refusal(body).find("filename"), std::string::npos) << bad << ": " << refusal(body);
  }
  parsed(R"({"fileReports":[{"filename":"a/..b/c..d/.x/./e.c","coverage":{"1":1}}]})");
}

TEST(CoverageReport, LinesArePositiveIntegersAndHitsNonNegativeIntegers) {
  auto body = [](std::string coverage) {
    return R"({"fileReports":[{"filename":"a.c","coverage":)" + coverage + "}]}";
  };
  EXPECT_NE(refusal(body(R"({"0":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"-1":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"x":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1.5":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"99999999999":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"":1})")).find("positive integers"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1":-1})")).find("negative hits"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1":1.5})")).find("non-negative integer"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1":"3"})")).find("non-negative integer"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1":null})")).find("non-negative integer"), std::string::npos);
  EXPECT_NE(refusal(body(R"([1,2])")).find("'coverage' must be an object"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"1":1})").insert(0, " ")).find("(accepted)"), std::string::npos);
  EXPECT_NE(refusal(body(R"({"2":{"a":1}})")).find("line 2"), std::string::npos);
}

// A refusal is stored in the upload log and sent back as JSON: it quotes the input only as valid text.
TEST(CoverageReport, RefusalsQuoteTheInputAsValidText) {
  EXPECT_EQ(refusal(R"({"fileReports":[{"filename":"a.c","coverage":{"1\u0000\u00e9":1}}]})"),
            "fileReports[0] (a.c): line numbers must be positive integers, not \"1???\"");
  // A long name is cut at a character boundary, never inside a multi-byte character.
  std::string name = "a" + std::string(100, 'x');
  for (int i = 0; i < 60; ++i) name += "\u00e9";  // two bytes each in UTF-8
  std::string message = refusal(R"({"fileReports":[{"filename":")" + name + R"(","coverage":{"0":1}}]})");
  std::string label = message.substr(0, message.find(')'));
  EXPECT_EQ(label, "fileReports[0] (a" + std::string(100, 'x') + [] {
    std::string e;
    for (int i = 0; i < 49; ++i) e += "\xc3\xa9";  // 101 + 98 bytes: the 50th would end past 200
    return e;
  }());
}

TEST(CoverageReport, StructureErrorsSayWhatIsWrong) {
  EXPECT_NE(refusal("").find("not valid JSON"), std::string::npos);
  EXPECT_NE(refusal("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[]} trailing)").find("not valid JSON"), std::string::npos);
  EXPECT_NE(refusal("[]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(refusal("{}").find("'fileReports' is required"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":{}})").find("must be an array"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[1]})").find("fileReports[0] must be an object"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"coverage":{}}]})").find("'filename' is required"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"filename":"a"}]})").find("'coverage' is required"), std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"filename":"a","coverage":{}},{"filename":7}]})").find("fileReports[1]"),
            std::string::npos);
  EXPECT_EQ(parsed(R"({"fileReports":[]})").files, 0);
}

TEST(CoverageReport, SameFileTwiceIsMerged) {
  auto r = parsed(R"({"fileReports":[{"filename":"a","coverage":{"1":0,"2":1}},
                                     {"filename":"a","coverage":{"1":2,"3":0}}]})");
  EXPECT_EQ(r.files, 1);
  EXPECT_EQ(r.coverable, 3);
  EXPECT_EQ(r.covered, 2);
}

TEST(CoverageReport, AKeyTheReportIsReadByMayAppearOnce) {
  EXPECT_NE(refusal(R"({"fileReports":[],"fileReports":[{"filename":"a","coverage":{}}]})").find("'fileReports' is given twice"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"filename":"a","filename":"b","coverage":{}}]})").find("'filename' is given twice"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"filename":"a","coverage":{},"coverage":{"1":1}}]})")
                .find("fileReports[0] (a): field 'coverage' is given twice"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"fileReports":[{"filename":"a","coverage":{"1":0,"2":1,"1":5}}]})").find("line 1 is given twice"),
            std::string::npos);
  // Ignored fields are not read, so their keys do not matter; a file named twice is still merged.
  EXPECT_EQ(parsed(R"({"total":1,"total":2,"fileReports":[]})").files, 0);
}

TEST(CoverageReport, DeepNestingInIgnoredFieldsIsSkippedWithoutRecursion) {
  std::string deep = R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') + R"(,"fileReports":[]})";
  auto r = parse_coverage_report(deep);  // the SAX parser keeps its nesting on the heap, not the stack
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->files, 0);
}

}  // namespace
}  // namespace rt
