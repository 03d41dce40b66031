// The SIP torture corpus (tests/fixtures/sip/torture): its manifest and files,
// shared by the parser tests and the whole-stack tests.
#pragma once

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace parley::test {

struct TortureCase {
  std::string file;      ///< file name under torture/
  std::string parser;    ///< "accept" | "reject"
  std::string response;  ///< status code, "none" or "any"
};

inline std::string torturePath(const std::string& name) {
  return std::string(PARLEY_FIXTURES_DIR) + "/sip/torture/" + name;
}

/// Every row of MANIFEST.tsv, in order.
inline std::vector<TortureCase> tortureCases() {
  std::ifstream in(torturePath("MANIFEST.tsv"));
  std::vector<TortureCase> cases;
  std::string line;
  std::getline(in, line);  // header row
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    TortureCase c;
    std::getline(fields, c.file, '\t');
    std::getline(fields, c.parser, '\t');
    std::getline(fields, c.response, '\t');
    if (!c.file.empty()) cases.push_back(c);
  }
  return cases;
}

/// The raw bytes of one corpus message.
inline std::string tortureBytes(const std::string& name) {
  std::ifstream in(torturePath(name), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// A GoogleTest-safe name for a case (its file stem, non-alphanumerics as '_').
inline std::string tortureTestName(const TortureCase& c) {
  std::string n = std::filesystem::path(c.file).stem().string();
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

}  // namespace parley::test
