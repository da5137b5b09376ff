// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// How many uevents the process's USB sources handle, for a program that acts once a burst of them is over
/// (devsyncd gives the memory a device storm took back to the system, as it does after a flood of calls).
public enum UdevActivity {
    /// The observer in a struct, not as `Mutex`'s `Value` itself: a function stored as a generic value is
    /// converted to the closure's own representation and back by `withLock`'s `inout` argument on every access,
    /// each time wrapping the stored closure in two more thunk objects (a leak per report and a deeper call each
    /// time; `DBusActivity` has the same box for the same reason).
    private struct Observer: Sendable {
        let report: @Sendable (Int) -> Void
    }

    private static let storage = Mutex<Observer?>(nil)

    /// Called on a source's queue after each drain of its monitor, with how many uevents it read; it must return
    /// quickly. nil (the default) for nobody.
    public static var observer: (@Sendable (Int) -> Void)? {
        get { storage.withLock { $0?.report } }
        set { storage.withLock { $0 = newValue.map(Observer.init) } }
    }
}
