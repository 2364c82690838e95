#pragma once
// Golden files of the audit report tests (tests/golden/): audit logs in, expected outputs beside them.
// MXGUARD_UPDATE_GOLDEN=1 rewrites the expected files from what the code makes now; review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mxguard::audit::report::testing_golden {

inline std::string golden_path(const std::string& name) { return std::string(MXGUARD_AUDIT_GOLDEN) + "/" + name; }

inline std::string read_golden(const std::string& name) {
  std::ifstream in(golden_path(name), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void expect_golden(const std::string& name, const std::string& actual) {
  if (const char* update = std::getenv("MXGUARD_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden_path(name), std::ios::binary) << actual;
    return;
  }
  EXPECT_EQ(actual, read_golden(name)) << "golden file " << name << " differs (MXGUARD_UPDATE_GOLDEN=1 rewrites it)";
}

}  // namespace mxguard::audit::report::testing_golden
