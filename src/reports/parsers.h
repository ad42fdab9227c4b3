// Internal to reports/: one parser per format, called by parse.cpp's dispatch (parse_test_file,
// parse_coverage_file) once it has opened the file as XML or JSON and checked the limits. Each
// returns the errors of parse.h, "<display name>:<line>:<col>: <what>", through
// XmlReader::error_here or, for JSON, naming the member.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/parse.h"
#include "reports/report.h"
#include "reports/xml_reader.h"

namespace kiln::reports::detail {

// Test formats (parse.cpp's owner): `raw` is each case's test_raw_data_path.
Result<void> parse_junit(XmlReader& xml, std::string_view raw, TestCaseSink& sink);
Result<void> parse_testng(XmlReader& xml, std::string_view raw, TestCaseSink& sink);
Result<void> parse_nunit(XmlReader& xml, std::string_view raw, TestCaseSink& sink);   // NUnit 2
Result<void> parse_nunit3(XmlReader& xml, std::string_view raw, TestCaseSink& sink);  // NUnit 3
Result<void> parse_trx(XmlReader& xml, std::string_view raw, TestCaseSink& sink);
Result<void> parse_cucumber(const nlohmann::json& doc, std::string_view display,
                            std::string_view raw, TestCaseSink& sink);

// Coverage formats (the coverage parsers' owner): one entry per source file, in file order.
Result<std::vector<FileCoverage>> parse_clover(XmlReader& xml);
Result<std::vector<FileCoverage>> parse_cobertura(XmlReader& xml);
Result<std::vector<FileCoverage>> parse_jacoco(XmlReader& xml);
// Both SimpleCov shapes: `.resultset.json` and the JSON formatter's coverage.json (§7.1 "JSON
// from simplecov, not simplecov-json").
Result<std::vector<FileCoverage>> parse_simplecov(const nlohmann::json& doc,
                                                  std::string_view display);

}  // namespace kiln::reports::detail
