# net/mailauth: the pure parts of mail authentication: tag=value lists (DKIM key and DMARC records),
# DKIM relaxed canonicalization for the signer,
# and Authentication-Results fields. The libraries that check and sign live in appliance/mailauth.
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/auth_results.cc
    ${CMAKE_CURRENT_LIST_DIR}/dkim_canon.cc
    ${CMAKE_CURRENT_LIST_DIR}/header_fields.cc
    ${CMAKE_CURRENT_LIST_DIR}/tag_list.cc
)
