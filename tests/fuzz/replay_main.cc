// A libFuzzer-compatible driver for builds without libFuzzer (g++): runs every file of the corpus
// folders given as arguments, then a fixed number of deterministic mutations of them (bit flips,
// truncations, splices, byte runs), so ctest exercises each fuzz target on every build. Real
// coverage-guided fuzzing: scripts/fuzz.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run(const std::string& input) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

// Bytes that tend to matter to parsers: delimiters, quotes, line ends, digits, NUL, 0xff.
constexpr char interesting[] = {'"', '\'', '[', ']', '=', '.', '\n', '\r', '\t', '\\', '#', '{', '}', ':', ',',
                                '-', '0', '1', '9', '@', '<', '>', ' ', '\0', '\x7f', '\xff'};

std::string mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng) {
    std::string s = corpus[rng() % corpus.size()];
    const int steps = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < steps; ++i) {
        switch (rng() % 6) {
            case 0:
                if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
                break;
            case 1:
                if (!s.empty()) s.resize(rng() % s.size());
                break;
            case 2: {
                const std::string& other = corpus[rng() % corpus.size()];
                if (!other.empty()) s.insert(s.empty() ? 0 : rng() % s.size(), other.substr(rng() % other.size()));
                break;
            }
            case 3: s.insert(s.empty() ? 0 : rng() % s.size(), std::string(1 + rng() % 64, static_cast<char>(rng()))); break;
            case 4:
                if (!s.empty()) s[rng() % s.size()] = interesting[rng() % sizeof interesting];
                break;
            default:
                if (s.size() > 1) s.erase(rng() % s.size(), 1 + rng() % 16);
                break;
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> corpus;
    for (int i = 1; i < argc; ++i) {
        for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
            std::ifstream in(entry.path(), std::ios::binary);
            corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }
    if (corpus.empty()) corpus.emplace_back();
    for (const auto& input : corpus) run(input);
    const char* count_text = std::getenv("VMX_FUZZ_MUTATIONS");
    const long mutations = count_text ? std::atol(count_text) : 20000;
    std::mt19937_64 rng(20261123);
    for (long i = 0; i < mutations; ++i) run(mutate(corpus, rng));
    std::printf("replayed %zu corpus inputs and %ld mutations\n", corpus.size(), mutations);
    return 0;
}
