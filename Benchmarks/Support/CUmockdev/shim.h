// SPDX-License-Identifier: Apache-2.0
// umockdev's testbed API, for the benchmarks that build fake sysfs trees and send uevents.
#include <umockdev.h>
