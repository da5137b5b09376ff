// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// How many uevents the process's USB sources handle, for a program that acts once a burst of them is over
/// (devsyncd gives the memory a device storm took back to the system, as it does after a flood of calls).
public enum UdevActivity {
    private static let storage = Mutex<(@Sendable (Int) -> Void)?>(nil)

    /// Called on a source's queue after each drain of its monitor, with how many uevents it read; it must return
    /// quickly. nil (the default) for nobody.
    public static var observer: (@Sendable (Int) -> Void)? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
