# Store benchmark: durable appends per second through the store lane (group commit) against one
# request per transaction, at 1/10/100 KiB with 1/8/64 writers: raw puts, and sealed + compressed
# MailboxWriter appends as in production. Run it on a real disk (not tmpfs).
add_executable(store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cc)
target_link_libraries(store_bench PRIVATE vmx_store fmt::fmt)
vmx_link_allocator(store_bench)
# The storage seam on LMDB against Ceph RADOS on the same box (commits, blobs, snapshot reads; CPU
# per operation including the cluster's daemons).
add_executable(backend_bench ${CMAKE_CURRENT_LIST_DIR}/backend_bench.cc)
target_link_libraries(backend_bench PRIVATE vmx_store_rados fmt::fmt)
vmx_link_allocator(backend_bench)
