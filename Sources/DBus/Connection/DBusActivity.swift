// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// How much work the process's D-Bus connections do, for a program that acts once a burst of it is over
/// (devsyncd gives the memory a flood of calls took back to the system).
public enum DBusActivity {
    /// The observer in a struct, not as `Mutex`'s `Value` itself: a function stored as a generic value is kept in
    /// its most general representation, and `withLock`'s `inout` argument converted it to the closure's own
    /// representation and back on every access, each time wrapping the stored closure in two more thunk objects.
    /// Every report leaked 96 bytes and made the next call two frames deeper: 810 small objects scattered over
    /// devsyncd's heap after one flood of calls, pinning pages that malloc_trim could not give back
    /// (docs/benchmarks.md, "Memory after floods").
    private struct Observer: Sendable {
        let report: @Sendable (Int) -> Void
    }

    private static let storage = Mutex<Observer?>(nil)

    /// Called on a connection's queue after it handled socket events (reads, and writes of queued replies) and
    /// dispatched incoming calls and signals, with how many of both; it must return quickly. nil (the default)
    /// for nobody.
    public static var observer: (@Sendable (Int) -> Void)? {
        get { storage.withLock { $0?.report } }
        set { storage.withLock { $0 = newValue.map(Observer.init) } }
    }
}
