# crypto/webauthn: server-side WebAuthn for the portal's security keys and passkeys. First part: the
# bounded CBOR decoder its attestation objects and COSE keys are read with.
target_sources(vmx_crypto PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/errc.cc
    ${CMAKE_CURRENT_LIST_DIR}/cbor.cc)
