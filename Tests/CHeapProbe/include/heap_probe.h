// SPDX-License-Identifier: Apache-2.0
#ifndef DEVSYNC_HEAP_PROBE_H
#define DEVSYNC_HEAP_PROBE_H
#include <stddef.h>

/// Bytes the C heap holds live now, over every arena and the blocks malloc mapped on their own (glibc's
/// mallinfo2: uordblks + hblkhd); 0 where the C library does not say. For leak checks in tests.
size_t devsync_heap_in_use(void);

#endif
