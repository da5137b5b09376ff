// SPDX-License-Identifier: Apache-2.0
import Dispatch

/// Runs an actor's jobs on one serial `DispatchQueue`, so the actor and the libdbus callbacks that the queue's
/// dispatch sources fire share a single isolation domain. (corelibs-libdispatch's `DispatchQueue` is not a
/// `SerialExecutor` itself.)
///
/// It is also a `TaskExecutor`: a task that prefers it runs its nonisolated code, and the default actors it
/// calls, on the same queue, so work that feeds the connection reaches it without a thread hop.
final class QueueExecutor: SerialExecutor, TaskExecutor {
    let queue: DispatchQueue

    init(queue: DispatchQueue) {
        self.queue = queue
    }

    /// One enqueue serves both roles: every job runs on the queue, isolated to it and with it as the task
    /// executor, so an actor on this executor is entered without a hop from a task that prefers it.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(isolatedTo: serial, taskExecutor: task) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}

/// A C pointer carried into a dispatch handler; it is only dereferenced on the connection's queue.
struct QueuePointer: @unchecked Sendable, Hashable {
    let raw: OpaquePointer
}
