// SPDX-License-Identifier: Apache-2.0
// Test-only: umockdev's testbed API, used by DevsyncTestSupport (for UdevMonitorTests and EndToEndTests) to build fake sysfs trees and send uevents.
#include <umockdev.h>
