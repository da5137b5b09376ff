// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// How much work the process's D-Bus connections do, for a program that acts once a burst of it is over
/// (devsyncd gives the memory a flood of calls took back to the system).
public enum DBusActivity {
    private static let storage = Mutex<(@Sendable (Int) -> Void)?>(nil)

    /// Called on a connection's queue after it handled socket events (reads, and writes of queued replies) and
    /// dispatched incoming calls and signals, with how many of both; it must return quickly. nil (the default)
    /// for nobody.
    public static var observer: (@Sendable (Int) -> Void)? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
