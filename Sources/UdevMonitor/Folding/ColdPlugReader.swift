import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reads the usb_devices present at start on several threads at once.
///
/// Reading a device is a dozen small sysfs reads (and, for a listed path, libudev building the device from its
/// uevent file and udev database entry); a machine at boot with many devices spends cold-plug almost entirely
/// in those system calls, and they are independent per device. Each worker thread has its own libudev context
/// (libudev objects are not thread-safe, separate contexts are) and reads a contiguous run of the input, so the
/// output keeps the input's order.
///
/// The workers run on serial dispatch queues of their own (libdispatch's overcommit pool), not on a global
/// concurrent queue: the first use of a non-overcommit global queue starts libdispatch's once-a-second
/// workqueue monitor for the life of the process, and the daemon promises no idle wakeups.
struct ColdPlugReader: Sendable {
    let reader: USBDeviceReader
    /// Threads used at most, this one included.
    let workers: Int
    /// Fewer devices than this per worker are not worth a thread.
    static let minimumPerWorker = 16

    /// A reader using one thread per online CPU, up to four.
    init(reader: USBDeviceReader, workers: Int = ColdPlugReader.onlineCPUs) {
        self.reader = reader
        self.workers = max(1, min(workers, 4))
    }

    /// The number of online CPUs (1 if unknown).
    static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// The usb_devices at `syspaths` (a listing of `/sys/bus/usb/devices`), each built by libudev and read from
    /// sysfs, in the order given. One that vanished before or while it was read has no record.
    func read(syspaths: [String]) -> [USBEventFolder.Enumerated] {
        let reader = self.reader
        return parallelMap(syspaths) { paths in
            guard let context = try? UdevContext() else {
                return paths.map { USBEventFolder.Enumerated(devpath: $0, record: nil) }
            }
            return paths.compactMap { path in
                // Gone before udev could build it: not present, and its remove is (or was) on the monitor.
                guard let device = context.device(syspath: path), device.isUSBDevice else { return nil }
                return USBEventFolder.Enumerated(devpath: device.devpath, record: try? reader.readDevice(device))
            }
        }
    }

    /// The usb_devices of an enumeration (already built by libudev), each read from sysfs, in the order given.
    func read(devices: [UdevDevice]) -> [USBEventFolder.Enumerated] {
        let reader = self.reader
        return parallelMap(devices.filter(\.isUSBDevice)) { devices in
            devices.map { USBEventFolder.Enumerated(devpath: $0.devpath, record: try? reader.readDevice($0)) }
        }
    }

    /// `body` applied to contiguous runs of `items`, one run per worker, the first on the calling thread; the
    /// results concatenated in input order. Returns once every worker has finished.
    func parallelMap<Item: Sendable, Output: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (ArraySlice<Item>) -> [Output]
    ) -> [Output] {
        let count = min(workers, items.count / Self.minimumPerWorker)
        guard count > 1 else { return body(items[...]) }
        let run = (items.count + count - 1) / count
        let results = Results<Output>(count: count)
        let group = DispatchGroup()
        for worker in 1..<count {
            let slice = items[min(items.count, worker * run)..<min(items.count, (worker + 1) * run)]
            DispatchQueue(label: "org.devsync.udev.coldplug").async(group: group) {
                results.set(worker, body(slice))
            }
        }
        results.set(0, body(items[0..<min(items.count, run)]))
        group.wait()
        return results.joined()
    }
}

/// Each worker's output, written once by that worker.
private final class Results<Output: Sendable>: Sendable {
    private let parts: Mutex<[[Output]]>

    init(count: Int) { parts = Mutex(Array(repeating: [], count: count)) }

    func set(_ index: Int, _ output: [Output]) { parts.withLock { $0[index] = output } }

    func joined() -> [Output] { parts.withLock { $0.flatMap { $0 } } }
}
