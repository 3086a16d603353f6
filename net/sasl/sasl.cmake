# net/sasl: SASL decoding shared by the POP3 and SMTP engines (strict base64 into secret memory,
# the PLAIN message split) and the client side SMTP AUTH sends (base64, the PLAIN response).
target_sources(vmx_net PRIVATE ${CMAKE_CURRENT_LIST_DIR}/sasl_plain.cc ${CMAKE_CURRENT_LIST_DIR}/sasl_client.cc)
