// SPDX-License-Identifier: Apache-2.0
#include "heap_statistics.h"
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Linked in by the benchmark harness when its MallocInterposer trait is on; weak so that this builds without it.
extern void malloc_interposer_get_stats(int64_t *malloc_count, int64_t *malloc_bytes, int64_t *malloc_small,
                                        int64_t *malloc_large, int64_t *free_count, int64_t *free_bytes)
    __attribute__((weak));

size_t devsync_heap_bytes_in_use(void) {
    if (malloc_interposer_get_stats) {
        int64_t count, bytes, small, large, frees, freed;
        malloc_interposer_get_stats(&count, &bytes, &small, &large, &frees, &freed);
        // Counted only while the harness measures, so this is meaningful as a difference inside a benchmark.
        if (count > 0) return (size_t)(bytes - freed);
    }
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}
