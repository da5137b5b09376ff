// SPDX-License-Identifier: Apache-2.0
// A stand-in for libmtp.so.9, built by the tests (DatabaseFixtures.buildFakeLibMTP) so that none depends on the
// libmtp the machine has: the one call devsync makes, LIBMTP_Get_Supported_Devices_List, over a small table laid
// out as libmtp.h's LIBMTP_device_entry_t.
#include <stdint.h>

typedef struct {
    char *vendor;
    uint16_t vendor_id;
    char *product;
    uint16_t product_id;
    uint32_t device_flags;
} entry;

static entry table[] = {
    {"MediaTek", 0x0e8d, "Elephone P8000", 0x2008, 0},
    {"MediaTek", 0x0e8d, "the second entry for one id, never read", 0x2008, 0},
    {"Bad\xff\xfe maker \x1b[31m", 0x0e8d, 0, 0x2009, 0},
    {"Lenovo", 0x17ef, "IdeaTab A3000", 0x7484, 0x8000},
    {"Unflagged", 0x1234, "No hwdb entry calls this an MTP device", 0x5678, 0},
};

int LIBMTP_Get_Supported_Devices_List(entry **devices, int *count) {
    *devices = table;
    *count = (int)(sizeof table / sizeof table[0]);
    return 0;
}
