// parleyd's memory allocator: jemalloc (Debian's libjemalloc2), linked into parleyd only and
// only when the build is not sanitized (ASan must own malloc). Why, in docs/performance.md
// ("Memory per subscription and per presentity"): glibc's malloc kept the memory of a burst's
// transactions after they ended (RSS stayed at the burst's high-water mark, 3.1 KB per held
// subscription), while jemalloc hands emptied pages back and packs long-lived records by size
// class (1.1 KB per held subscription, same benchmark).
//
// jemalloc reads this string at start; MALLOC_CONF in the environment overrides it (see
// docs/operations.md):
//   background_thread  one jemalloc thread returns unused pages even when the loop is idle,
//                      instead of only on later allocations;
//   dirty_decay_ms     freed pages go back to the kernel within about a second;
//   muzzy_decay_ms 0   with MADV_DONTNEED at once (RSS shows it), not a lazy MADV_FREE.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface (man 3 jemalloc, "TUNING").
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
