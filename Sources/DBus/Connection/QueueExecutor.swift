import Dispatch

/// Runs an actor's jobs on one serial `DispatchQueue`, so the actor and the libdbus callbacks that the queue's
/// dispatch sources fire share a single isolation domain. (corelibs-libdispatch's `DispatchQueue` is not a
/// `SerialExecutor` itself.)
final class QueueExecutor: SerialExecutor {
    let queue: DispatchQueue

    init(queue: DispatchQueue) {
        self.queue = queue
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
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
