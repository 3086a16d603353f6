#!/usr/bin/python3
"""Makes the WebAuthn test vectors of tests/crypto/webauthn_test.cc and the seeds of
tests/fuzz/webauthn_fuzz.cc: clientDataJSON, attestation objects, authenticator data and signatures
for ES256 (P-256) and Ed25519 credentials, good and with each check failing on its own.

The CBOR is encoded here by hand (CTAP2 canonical form: shortest heads, map keys sorted by their
encoding), so the vectors do not depend on the decoder they test. Signatures come from Debian's
python3-cryptography (hence /usr/bin/python3). Keys are fixed; ECDSA signatures are randomised, so
a second run gives other (equally valid) ES256 signatures. Run once and commit the output:

    /usr/bin/python3 tests/crypto/data/make_webauthn_vectors.py
"""
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
HEADER = os.path.join(HERE, "webauthn_vectors.h")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "webauthn")

ORIGIN = "https://portal.example.com:8443"
RP_ID = "portal.example.com"
CHALLENGE = hashlib.sha256(b"vaultmx webauthn test challenge").digest()
OTHER_CHALLENGE = hashlib.sha256(b"vaultmx webauthn another challenge").digest()

UP, UV, AT, ED = 0x01, 0x04, 0x40, 0x80
AAGUID = bytes(range(16))


# --- CBOR (RFC 8949), by hand -------------------------------------------------------------------

def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor(v):
    if v is False:
        return b"\xf4"
    if v is True:
        return b"\xf5"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        pairs = sorted(((cbor(k), cbor(x)) for k, x in v.items()), key=lambda kv: (len(kv[0]), kv[0]))
        return cbor_head(5, len(v)) + b"".join(k + x for k, x in pairs)
    raise TypeError(v)


# --- keys ---------------------------------------------------------------------------------------

def p256_key(label):
    scalar = int.from_bytes(hashlib.sha256(label).digest(), "big") % (2**256 - 2**224 - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def ed_key(label):
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label).digest())


def cose_es256(key):
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]}


def cose_ed25519(key):
    return {1: 1, 3: -8, -1: 6, -2: key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)}


class Signer:
    def __init__(self, name, key, cose):
        self.name, self.key, self.cose = name, key, cose
        self.credential_id = hashlib.sha256(b"credential " + name.encode()).digest()

    def sign(self, message):
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(message, ec.ECDSA(hashes.SHA256()))
        return self.key.sign(message)


ES256 = Signer("es256", p256_key(b"vaultmx webauthn es256 key"), None)
ES256.cose = cose_es256(ES256.key)
ES256_OTHER = Signer("es256_other", p256_key(b"vaultmx webauthn es256 other key"), None)
ES256_OTHER.cose = cose_es256(ES256_OTHER.key)
ED25519 = Signer("ed25519", ed_key(b"vaultmx webauthn ed25519 key"), None)
ED25519.cose = cose_ed25519(ED25519.key)


# --- WebAuthn structures --------------------------------------------------------------------------

def b64url(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def client_data(kind, challenge=CHALLENGE, origin=ORIGIN, cross_origin=False, extra=None):
    members = {"type": kind, "challenge": b64url(challenge), "origin": origin, "crossOrigin": cross_origin}
    members.update(extra or {})
    return json.dumps(members, separators=(",", ":")).encode()


def auth_data(flags, count, rp_id=RP_ID, attested=b"", extensions=None, trailing=b""):
    out = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count) + attested
    if extensions is not None:
        out += cbor(extensions)
    return out + trailing


def attested(signer, cose=None, credential_id=None):
    cid = signer.credential_id if credential_id is None else credential_id
    return AAGUID + struct.pack(">H", len(cid)) + cid + cbor(signer.cose if cose is None else cose)


def attestation_object(data, fmt="none", statement=None):
    return cbor({"fmt": fmt, "attStmt": statement or {}, "authData": data})


def indefinite_attestation_object(data):
    # The same map with an indefinite length (0xbf ... 0xff): CTAP2 never writes one.
    body = cbor("fmt") + cbor("none") + cbor("attStmt") + cbor({}) + cbor("authData") + cbor(data)
    return b"\xbf" + body + b"\xff"


def registrations(signer):
    p = signer.name + ".reg."
    good = attested(signer)
    create = client_data("webauthn.create")
    yield p + "good", create, attestation_object(auth_data(UP | UV | AT, 0, attested=good))
    yield p + "uv_clear", create, attestation_object(auth_data(UP | AT, 0, attested=good))
    yield p + "up_clear", create, attestation_object(auth_data(UV | AT, 0, attested=good))
    yield p + "at_clear", create, attestation_object(auth_data(UP | UV, 0))
    good_object = attestation_object(auth_data(UP | UV | AT, 0, attested=good))
    yield p + "wrong_type", client_data("webauthn.get"), good_object
    yield p + "wrong_challenge", client_data("webauthn.create", challenge=OTHER_CHALLENGE), good_object
    yield p + "wrong_origin", client_data("webauthn.create", origin="https://evil.example.com:8443"), good_object
    yield p + "cross_origin", client_data("webauthn.create", cross_origin=True), good_object
    yield p + "wrong_rp", create, attestation_object(auth_data(UP | UV | AT, 0, rp_id="evil.example.com", attested=good))
    yield p + "extensions", create, attestation_object(auth_data(UP | UV | AT | ED, 0, attested=good,
                                                                 extensions={"credProtect": 2}))
    yield p + "trailing_auth_data", create, attestation_object(auth_data(UP | UV | AT, 0, attested=good, trailing=b"\0"))
    yield p + "trailing_attestation", create, good_object + b"\0"
    yield p + "indefinite", create, indefinite_attestation_object(auth_data(UP | UV | AT, 0, attested=good))
    statement = {"alg": -7, "sig": bytes(70), "x5c": [bytes(range(256)) * 2]}
    yield p + "packed", create, attestation_object(auth_data(UP | UV | AT, 0, attested=good), "packed", statement)
    browser = client_data("webauthn.create", extra={
        "other_keys_can_be_added_here": "do not compare clientDataJSON against a template",
        "tokenBinding": {"status": "supported"}}).replace(b"https://", b"https:\\/\\/")
    yield p + "browser_members", browser, good_object


def es256_key_cases():
    create = client_data("webauthn.create")
    point = ES256.cose
    rsa = {1: 3, 3: -257, -1: bytes([0xC5]) * 256, -2: b"\x01\x00\x01"}
    p384 = {1: 2, 3: -35, -1: 2, -2: bytes(48), -3: bytes(48)}
    mismatch = dict(point)
    mismatch[3] = -8
    off_curve = dict(point)
    off_curve[-3] = bytes([point[-3][0] ^ 1]) + point[-3][1:]
    kid = dict(point)
    kid[2] = b"key id"
    for name, cose in (("rs256", rsa), ("p384", p384), ("alg_mismatch", mismatch), ("off_curve", off_curve),
                       ("cose_kid", kid)):
        yield "es256.reg." + name, create, attestation_object(auth_data(UP | UV | AT, 0, attested=attested(ES256, cose)))
    long_id = bytes([0x42]) * 1024
    yield "es256.reg.long_id", create, attestation_object(
        auth_data(UP | UV | AT, 0, attested=attested(ES256, credential_id=long_id)))
    yield "es256_other.reg.good", create, attestation_object(auth_data(UP | UV | AT, 0, attested=attested(ES256_OTHER)))


def assertion(signer, name, data, cdj):
    digest = hashlib.sha256(cdj).digest()
    return signer.name + ".get." + name, cdj, data, signer.sign(data + digest)


def assertions(signer):
    get = client_data("webauthn.get")
    good = auth_data(UP | UV, 5)
    yield assertion(signer, "good", good, get)
    yield assertion(signer, "zero_count", auth_data(UP | UV, 0), get)
    yield assertion(signer, "uv_clear", auth_data(UP, 6), get)
    yield assertion(signer, "up_clear", auth_data(UV, 6), get)
    yield assertion(signer, "wrong_type", good, client_data("webauthn.create"))
    yield assertion(signer, "wrong_challenge", good, client_data("webauthn.get", challenge=OTHER_CHALLENGE))
    yield assertion(signer, "wrong_origin", good, client_data("webauthn.get", origin="https://portal.example.com"))
    yield assertion(signer, "cross_origin", good, client_data("webauthn.get", cross_origin=True))
    yield assertion(signer, "wrong_rp", auth_data(UP | UV, 5, rp_id="example.com"), get)
    yield assertion(signer, "extensions", auth_data(UP | UV | ED, 7, extensions={"credProtect": 1}), get)
    yield assertion(signer, "trailing", auth_data(UP | UV, 8, trailing=b"\0"), get)
    yield assertion(signer, "at_set", auth_data(UP | UV | AT, 9, attested=attested(signer)), get)


# --- output ---------------------------------------------------------------------------------------

def hex_literal(b, indent):
    text = b.hex()
    lines = [text[i:i + 96] for i in range(0, len(text), 96)] or [""]
    return ("\n" + " " * indent).join('"%s"' % line for line in lines)


def fuzz_seed(mode, flags, parts):
    out = bytes([mode, flags])
    for part in parts[:-1]:
        out += struct.pack(">H", len(part)) + part
    return out + parts[-1]


def main():
    regs = list(registrations(ES256)) + list(registrations(ED25519)) + list(es256_key_cases())
    gets = list(assertions(ES256)) + list(assertions(ED25519))
    out = ["// Generated by tests/crypto/data/make_webauthn_vectors.py; do not edit. WebAuthn vectors made with",
           "// python3-cryptography: clientDataJSON as text, the rest as hex. Test-only.",
           "#pragma once", "", "#include <array>", "#include <string_view>", "",
           "namespace vmx::crypto::webauthn::vectors {", "",
           'inline constexpr std::string_view origin = "%s";' % ORIGIN,
           'inline constexpr std::string_view rp_id = "%s";' % RP_ID,
           'inline constexpr std::string_view challenge_hex = "%s";' % CHALLENGE.hex(),
           'inline constexpr std::string_view other_challenge_hex = "%s";' % OTHER_CHALLENGE.hex()]
    for signer in (ES256, ES256_OTHER, ED25519):
        out.append('inline constexpr std::string_view %s_credential_id_hex = "%s";' % (signer.name, signer.credential_id.hex()))
        out.append("inline constexpr std::string_view %s_public_key_hex =\n    %s;" % (signer.name, hex_literal(cbor(signer.cose), 4)))
    out += ["", "struct Registration {", "    std::string_view name;", "    std::string_view client_data;",
            "    std::string_view attestation_hex;", "};", "",
            "struct Assertion {", "    std::string_view name;", "    std::string_view client_data;",
            "    std::string_view authenticator_data_hex;", "    std::string_view signature_hex;", "};", "",
            "inline constexpr std::array<Registration, %d> registrations{{" % len(regs)]
    for name, cdj, obj in regs:
        out.append('    {"%s", R"json(%s)json",\n     %s},' % (name, cdj.decode(), hex_literal(obj, 5)))
    out += ["}};", "", "inline constexpr std::array<Assertion, %d> assertions{{" % len(gets)]
    for name, cdj, data, sig in gets:
        out.append('    {"%s", R"json(%s)json",\n     %s,\n     %s},' % (name, cdj.decode(), hex_literal(data, 5), hex_literal(sig, 5)))
    out += ["}};", "", "}  // namespace vmx::crypto::webauthn::vectors", ""]
    with open(HEADER, "w") as f:
        f.write("\n".join(out))

    # Fuzz seeds (format in tests/fuzz/webauthn_fuzz.cc): mode 1 registration, 2 and 3 assertions
    # with the ES256 and Ed25519 credentials; mode 0 is the CBOR decoder alone.
    os.makedirs(CORPUS, exist_ok=True)
    seeds = [fuzz_seed(1, 0, [cdj, obj]) for _, cdj, obj in regs]
    seeds += [fuzz_seed(2 if name.startswith("es256") else 3, 1, [cdj, data, sig]) for name, cdj, data, sig in gets]
    seeds += [fuzz_seed(0, 0, [obj]) for _, _, obj in regs[:3]]
    seeds += [fuzz_seed(0, 0, [cbor(s.cose)]) for s in (ES256, ED25519)]
    for seed in seeds:
        with open(os.path.join(CORPUS, hashlib.sha1(seed).hexdigest()), "wb") as f:
            f.write(seed)
    print("%d registrations, %d assertions, %d fuzz seeds" % (len(regs), len(gets), len(seeds)))


if __name__ == "__main__":
    main()
