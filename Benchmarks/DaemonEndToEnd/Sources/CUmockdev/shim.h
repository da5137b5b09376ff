// Benchmark-only: umockdev's testbed API, to build the fake sysfs devsyncd reads and to send its uevents.
#include <umockdev.h>
