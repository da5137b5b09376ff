// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One thread that lives as long as the process, from which children are spawned.
///
/// The kernel sends a child its parent-death signal when the *thread* that forked it ends, and the threads of
/// Swift's pool and of libdispatch end when idle: a SyncEvolution started from one of them would be told to
/// abort in the middle of a sync. Spawning takes milliseconds, so the caller simply waits.
/// `@unchecked Sendable`: `jobs` is guarded by `mutex`, and `condition` signals it.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [() -> Void] = []

    private init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let owner = Unmanaged<SpawnThread>.fromOpaque(context!).takeRetainedValue()
            owner.loop()
        }, context)
        precondition(result == 0, "cannot start the spawning thread: \(result)")
        pthread_detach(thread)
    }

    private func loop() -> Never {
        while true {
            pthread_mutex_lock(&mutex)
            while jobs.isEmpty { pthread_cond_wait(&condition, &mutex) }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(&mutex)
            job()
        }
    }

    /// Runs `body` on the spawning thread and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        var done = sem_t()
        sem_init(&done, 0, 0)
        defer { sem_destroy(&done) }
        nonisolated(unsafe) var result: T?
        withUnsafeMutablePointer(to: &done) { semaphore in
            nonisolated(unsafe) let semaphore = semaphore
            pthread_mutex_lock(&mutex)
            jobs.append {
                result = body()
                sem_post(semaphore)
            }
            pthread_cond_signal(&condition)
            pthread_mutex_unlock(&mutex)
            while sem_wait(semaphore) != 0 && errno == EINTR {}
        }
        return result!
    }
}
