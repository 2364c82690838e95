// Runs a fuzz target without libFuzzer, so the normal (gcc, ASan/UBSan) build checks every target in CI:
// first each seed input as it is, then deterministic mutations of the seeds biased towards the bytes that
// matter to SMTP framing (CR, LF, '.', NUL, space, ':'). Real coverage-guided fuzzing is fuzz/run.sh.
// Usage: TARGET_replay [-n MUTATIONS] PATH...   (PATH: a file or a directory of files)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Rng {   // xorshift64*: the same inputs on every run, so a failure reproduces
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::string mutate(std::string s, Rng& rng) {
  static const char kInteresting[] = {'\r', '\n', '.', '\0', ' ', ':', '<', '>', '@', '-', '2', '5'};
  std::size_t edits = 1 + rng.below(8);
  for (std::size_t i = 0; i < edits; ++i) {
    char c = rng.below(4) == 0 ? static_cast<char>(rng.next()) : kInteresting[rng.below(sizeof kInteresting)];
    switch (rng.below(4)) {
      case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(rng.below(s.size() + 1)), c); break;
      case 1: if (!s.empty()) s[rng.below(s.size())] = c; break;
      case 2: if (!s.empty()) s.erase(rng.below(s.size()), 1 + rng.below(4)); break;
      default: if (!s.empty()) { std::size_t at = rng.below(s.size()); s.insert(at, s.substr(at, 1 + rng.below(16))); } break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mutations = 20000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-n" && i + 1 < argc) {
      mutations = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    std::filesystem::path p(arg);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) seeds.push_back(read_file(e.path()));
      }
    } else {
      seeds.push_back(read_file(p));
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  for (const auto& s : seeds) run(s);
  Rng rng;
  for (std::size_t i = 0; i < mutations; ++i) run(mutate(seeds[rng.below(seeds.size())], rng));
  std::printf("replayed %zu seeds and %zu mutations without a failure\n", seeds.size(), mutations);
  return 0;
}
