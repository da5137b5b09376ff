// Test-only: umockdev's testbed API, used by UdevMonitorTests to build fake sysfs trees and send uevents.
#include <umockdev.h>
