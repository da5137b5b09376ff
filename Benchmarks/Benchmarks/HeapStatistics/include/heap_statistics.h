// SPDX-License-Identifier: Apache-2.0
#ifndef DEVSYNC_HEAP_STATISTICS_H
#define DEVSYNC_HEAP_STATISTICS_H
#include <stddef.h>

/// Bytes currently allocated: from the malloc interposer's counters when present, else glibc's mallinfo2.
size_t devsync_heap_bytes_in_use(void);

#endif
