// SPDX-License-Identifier: Apache-2.0
// libFuzzer's driver entry (compiler-rt, FuzzerDriver.cpp; LLVM 11 and later). No library to link: the
// fuzzer runtime that -sanitize=fuzzer links provides it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
