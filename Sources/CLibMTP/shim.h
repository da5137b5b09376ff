// SPDX-License-Identifier: Apache-2.0
// libmtp's device table, as devsync reads it: libmtp.so.9 is opened at run time (dlopen), not linked, so that
// devsyncd runs without libmtp9 installed and needs no libmtp-dev to build. These two declarations mirror
// libmtp.h's `LIBMTP_device_entry_t` and `LIBMTP_Get_Supported_Devices_List`, whose layout and signature have not
// changed under the soname libmtp.so.9 (libmtp 1.0 to 1.1.21). Nothing links against them.
#ifndef DEVSYNC_CLIBMTP_SHIM_H
#define DEVSYNC_CLIBMTP_SHIM_H
#include <stdint.h>

/// One entry of libmtp's table (LIBMTP_device_entry_t).
typedef struct devsync_libmtp_device_entry {
    char *vendor;
    uint16_t vendor_id;
    char *product;
    uint16_t product_id;
    uint32_t device_flags;
} devsync_libmtp_device_entry;

/// LIBMTP_Get_Supported_Devices_List: points *devices at libmtp's static table and sets *count; 0 on success.
typedef int (*devsync_libmtp_supported_devices)(devsync_libmtp_device_entry **devices, int *count);

#endif
