# ShardStore and what runs on it: the store lane and sweeps wired into real shards, mailbox
# writes, the trash purge.
list(APPEND vmx_appliance_unit_sources ${CMAKE_CURRENT_LIST_DIR}/shard_store_test.cc
                                       ${CMAKE_CURRENT_LIST_DIR}/mailbox_writes_test.cc)
