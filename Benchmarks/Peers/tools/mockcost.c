// SPDX-License-Identifier: Apache-2.0
/* mockcost: cost of umockdev_testbed_add_from_string() in C, i.e. the
 * mock-only step usbguard's umockdev backend runs inside the daemon for every
 * device (usbguard: UMockdevDeviceManager::umockdevAdd).  Run under
 * LD_PRELOAD=libumockdev-preload.so.0, like the daemon.
 *
 *   mockcost BASEFILE DEVFILE_PATTERN hot CYCLES
 *       add one device, time it, remove it again (hotplug shape); prints us per add
 *   mockcost BASEFILE DEVFILE_PATTERN cold N
 *       add N devices one after another; prints total ms
 * DEVFILE_PATTERN is a printf pattern with one %d (device index, from 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <umockdev.h>

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f);
    char *b = malloc(n + 1);
    if (fread(b, 1, n, f) != (size_t)n) { perror(path); exit(2); }
    b[n] = 0; fclose(f); return b;
}

static double now_us(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s BASE PATTERN hot|cold N\n", argv[0]); return 2; }
    int n = atoi(argv[4]);
    UMockdevTestbed *tb = umockdev_testbed_new();
    GError *err = NULL;
    if (!umockdev_testbed_add_from_string(tb, slurp(argv[1]), &err)) { fprintf(stderr, "base: %s\n", err->message); return 1; }
    char path[4096];
    if (strcmp(argv[3], "hot") == 0) {
        for (int i = 1; i <= n; i++) {
            snprintf(path, sizeof path, argv[2], i);
            char *def = slurp(path);
            double t0 = now_us();
            if (!umockdev_testbed_add_from_string(tb, def, &err)) { fprintf(stderr, "%s: %s\n", path, err->message); return 1; }
            double t1 = now_us();
            printf("%.1f\n", t1 - t0);
            /* P: line -> /sys path */
            char sys[4096]; sscanf(def, "P: %4000s", sys + 4); memcpy(sys, "/sys", 4);
            umockdev_testbed_remove_device(tb, sys);
            free(def);
        }
    } else {
        char **defs = calloc(n, sizeof *defs);
        for (int i = 1; i <= n; i++) { snprintf(path, sizeof path, argv[2], i); defs[i - 1] = slurp(path); }
        double t0 = now_us();
        for (int i = 0; i < n; i++)
            if (!umockdev_testbed_add_from_string(tb, defs[i], &err)) { fprintf(stderr, "%s\n", err->message); return 1; }
        printf("%.1f\n", (now_us() - t0) / 1000.0);
    }
    g_object_unref(tb);
    return 0;
}
