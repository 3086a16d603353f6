# ShardStore: the store lane and sweeps wired into real shards.
list(APPEND vmx_appliance_unit_sources ${CMAKE_CURRENT_LIST_DIR}/shard_store_test.cc)
