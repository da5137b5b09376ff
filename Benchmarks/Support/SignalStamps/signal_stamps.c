// SPDX-License-Identifier: Apache-2.0
#include "signal_stamps.h"

#include <dbus/dbus.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stamped {
    struct stamped *next;
    char member[128];
    char argument[512];
    uint64_t monotonic_ns;
    uint64_t realtime_ns;
};

struct signal_stamps {
    DBusConnection *connection;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t arrived;
    struct stamped *head, *tail;
    int stopping;
    int closed;
};

static uint64_t now(clockid_t clock) {
    struct timespec time;
    clock_gettime(clock, &time);
    return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

static void *run(void *context) {
    signal_stamps *stamps = context;
    for (;;) {
        pthread_mutex_lock(&stamps->lock);
        int stopping = stamps->stopping;
        pthread_mutex_unlock(&stamps->lock);
        // A bounded wait only so that stop is noticed; a signal wakes the poll at once.
        if (stopping || !dbus_connection_read_write(stamps->connection, 100)) break;
        DBusMessage *message;
        while ((message = dbus_connection_pop_message(stamps->connection)) != NULL) {
            uint64_t monotonic = now(CLOCK_MONOTONIC), realtime = now(CLOCK_REALTIME);
            if (dbus_message_get_type(message) == DBUS_MESSAGE_TYPE_SIGNAL) {
                struct stamped *item = calloc(1, sizeof *item);
                if (item != NULL) {
                    item->monotonic_ns = monotonic;
                    item->realtime_ns = realtime;
                    snprintf(item->member, sizeof item->member, "%s", dbus_message_get_member(message));
                    DBusMessageIter iter;
                    if (dbus_message_iter_init(message, &iter)) {
                        int type = dbus_message_iter_get_arg_type(&iter);
                        if (type == DBUS_TYPE_STRING || type == DBUS_TYPE_OBJECT_PATH) {
                            const char *text = NULL;
                            dbus_message_iter_get_basic(&iter, &text);
                            snprintf(item->argument, sizeof item->argument, "%s", text);
                        }
                    }
                    pthread_mutex_lock(&stamps->lock);
                    if (stamps->tail != NULL) stamps->tail->next = item; else stamps->head = item;
                    stamps->tail = item;
                    pthread_cond_signal(&stamps->arrived);
                    pthread_mutex_unlock(&stamps->lock);
                }
            }
            dbus_message_unref(message);
        }
    }
    pthread_mutex_lock(&stamps->lock);
    stamps->closed = 1;
    pthread_cond_broadcast(&stamps->arrived);
    pthread_mutex_unlock(&stamps->lock);
    return NULL;
}

signal_stamps *signal_stamps_start(const char *address, const char *rule) {
    DBusError error;
    dbus_error_init(&error);
    DBusConnection *connection = dbus_connection_open_private(address, &error);
    if (connection == NULL || !dbus_bus_register(connection, &error)) {
        fprintf(stderr, "signal_stamps: cannot connect to %s: %s\n", address, error.message ? error.message : "?");
        dbus_error_free(&error);
        if (connection != NULL) { dbus_connection_close(connection); dbus_connection_unref(connection); }
        return NULL;
    }
    dbus_bus_add_match(connection, rule, &error);
    if (dbus_error_is_set(&error)) {
        fprintf(stderr, "signal_stamps: AddMatch %s: %s\n", rule, error.message);
        dbus_error_free(&error);
        dbus_connection_close(connection);
        dbus_connection_unref(connection);
        return NULL;
    }
    signal_stamps *stamps = calloc(1, sizeof *stamps);
    if (stamps == NULL) return NULL;
    stamps->connection = connection;
    pthread_mutex_init(&stamps->lock, NULL);
    pthread_cond_init(&stamps->arrived, NULL);
    if (pthread_create(&stamps->thread, NULL, run, stamps) != 0) {
        dbus_connection_close(connection);
        dbus_connection_unref(connection);
        free(stamps);
        return NULL;
    }
    return stamps;
}

int signal_stamps_next(signal_stamps *stamps, char *member, size_t member_size, char *argument, size_t argument_size,
                       uint64_t *monotonic_ns, uint64_t *realtime_ns) {
    pthread_mutex_lock(&stamps->lock);
    while (stamps->head == NULL && !stamps->closed) pthread_cond_wait(&stamps->arrived, &stamps->lock);
    struct stamped *item = stamps->head;
    if (item != NULL) {
        stamps->head = item->next;
        if (stamps->head == NULL) stamps->tail = NULL;
    }
    pthread_mutex_unlock(&stamps->lock);
    if (item == NULL) return -1;
    snprintf(member, member_size, "%s", item->member);
    snprintf(argument, argument_size, "%s", item->argument);
    *monotonic_ns = item->monotonic_ns;
    *realtime_ns = item->realtime_ns;
    free(item);
    return 0;
}

void signal_stamps_stop(signal_stamps *stamps) {
    pthread_mutex_lock(&stamps->lock);
    stamps->stopping = 1;
    pthread_mutex_unlock(&stamps->lock);
    pthread_join(stamps->thread, NULL);
    dbus_connection_close(stamps->connection);
    dbus_connection_unref(stamps->connection);
    for (struct stamped *item = stamps->head; item != NULL;) {
        struct stamped *next = item->next;
        free(item);
        item = next;
    }
    pthread_mutex_destroy(&stamps->lock);
    pthread_cond_destroy(&stamps->arrived);
    free(stamps);
}
