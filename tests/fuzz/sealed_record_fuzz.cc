// Fuzz target: sealed records. Arbitrary bytes go to peek_key(), open() and rewrap() under a fixed
// scope key and identity. Nothing may crash, and nothing opens except an untouched record sealed
// with that key for that identity (the corpus holds one, whose plaintext is `sealed_plaintext`);
// a rewrap preserves exactly that: its result opens under the new key iff the input opened. The
// same bytes as a stream's head, and as the next chunk of a stream sealed here, never open anything
// else either.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "crypto/errc.h"
#include "crypto/sealed_record.h"
#include "crypto/sealed_stream.h"

namespace {

using vmx::crypto::CryptoErrc;
using vmx::crypto::KeyRef;
using vmx::crypto::RecordIdentity;
using vmx::crypto::StoreKind;

constexpr std::array<std::uint8_t, 32> make_key(std::uint8_t first) {
    std::array<std::uint8_t, 32> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
    return k;
}

constexpr auto scope_key = make_key(0x00);
constexpr auto new_key = make_key(0x80);
constexpr RecordIdentity identity{StoreKind::mail, 3, 1001, 77, KeyRef{5, 1}};
constexpr KeyRef new_ref{5, 2};
constexpr std::string_view sealed_plaintext = "vaultmx fuzz seed: the only plaintext that may ever open";

bool is_known_plaintext(std::span<const std::uint8_t> p) {
    return std::equal(p.begin(), p.end(), sealed_plaintext.begin(), sealed_plaintext.end(),
                      [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
}

// The head of a stream of at least two chunks, sealed once per process under the fuzz key.
const std::vector<std::uint8_t>& stream_head() {
    static const std::vector<std::uint8_t> head = [] {
        auto sealer = vmx::crypto::StreamSealer::begin(scope_key, identity);
        VMX_ASSERT(sealer.has_value());
        auto first = sealer->seal(std::span<const std::uint8_t>(), false);
        VMX_ASSERT(first.has_value());
        return *first;
    }();
    return head;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);

    auto ref = vmx::crypto::peek_key(input);
    auto opened = vmx::crypto::open(scope_key, identity, input);
    if (opened) {
        VMX_ASSERT(ref.has_value() && *ref == identity.key);
        VMX_ASSERT(is_known_plaintext(*opened));
    } else {
        const auto e = opened.error();
        VMX_ASSERT(e == CryptoErrc::bad_record || e == CryptoErrc::unsupported_version ||
                   e == CryptoErrc::wrong_identity || e == CryptoErrc::authentication_failed);
        // peek_key and open agree on what is structurally readable.
        if (!ref) VMX_ASSERT(e == ref.error());
    }

    RecordIdentity moved = identity;
    moved.key = new_ref;
    auto rewrapped = vmx::crypto::rewrap(scope_key, new_key, new_ref, identity, input);
    if (rewrapped) {
        VMX_ASSERT(rewrapped->size() == size);
        auto reopened = vmx::crypto::open(new_key, moved, *rewrapped);
        VMX_ASSERT(reopened.has_value() == opened.has_value());
        if (reopened) VMX_ASSERT(*reopened == *opened);
        VMX_ASSERT(!vmx::crypto::open(scope_key, identity, *rewrapped).has_value());
    } else {
        VMX_ASSERT(!opened.has_value());  // whatever opens can be rewrapped
    }

    // As a head: only the seed's key and identity make an opener, and its chunk is the seed's.
    if (auto as_head = vmx::crypto::StreamOpener::begin(scope_key, identity, input)) {
        auto chunk = as_head->open(input);
        if (chunk) VMX_ASSERT(is_known_plaintext(*chunk));
    }
    // As the second chunk of a stream sealed here: it would need that stream's data key.
    auto opener = vmx::crypto::StreamOpener::begin(scope_key, identity, stream_head());
    VMX_ASSERT(opener.has_value() && opener->open(stream_head()).has_value());
    VMX_ASSERT(!opener->open(input).has_value());
    return 0;
}
