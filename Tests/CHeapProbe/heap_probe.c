// SPDX-License-Identifier: Apache-2.0
#include "heap_probe.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

size_t devsync_heap_in_use(void) {
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}
