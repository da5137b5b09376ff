// SPDX-License-Identifier: Apache-2.0
import BenchSupport
@_exported import CUmockdev
import Foundation

/// Keeps the benchmark's files out of `/dev/`, and out of /tmp once it ends: call first thing, before any testbed
/// or temporary file exists.
///
/// Debian 12's umockdev (0.17.16) preload treats every path starting with `/dev/` as a device: each `open` of one
/// connects to the testbed's ioctl handler (a GLib thread of the process that made the testbed) and is recorded
/// in a table no lock guards. With TMPDIR on /dev/shm, every testbed file went that way while the handler thread
/// closed its sockets, and now and then the preload found its table inconsistent and called abort(): the
/// benchmark's "rare death" (docs/benchmarks.md). A link to /dev/shm does not help (umockdev resolves it and then
/// strips the wrong prefix), so TMPDIR becomes the benchmark's own directory in /tmp (``BenchmarkDirectory``,
/// removed when the process ends, however it ends); /dev/null is opened now, before UMOCKDEV_DIR exists, and never
/// again.
public func keepFilesOutOfDev() {
    _ = FileHandle.nullDevice
    BenchmarkDirectory.use()
}

/// Adds a device to `testbed` (umockdev_testbed_add_devicev) and returns its sysfs path.
public func addDevice(
    _ testbed: UnsafeMutablePointer<UMockdevTestbed>, _ subsystem: String, _ name: String, _ parent: String?,
    _ attributes: [(String, String)], _ properties: [(String, String)]
) -> String {
    var attributeList = attributes.flatMap { [strdup($0.0), strdup($0.1)] } + [nil]
    var propertyList = properties.flatMap { [strdup($0.0), strdup($0.1)] } + [nil]
    defer { (attributeList + propertyList).forEach { free($0) } }
    let path = attributeList.withUnsafeMutableBufferPointer { attributes in
        propertyList.withUnsafeMutableBufferPointer { properties in
            umockdev_testbed_add_devicev(testbed, subsystem, name, parent, attributes.baseAddress, properties.baseAddress)
        }
    }
    defer { g_free(path) }
    return String(cString: path!)
}

/// When umockdev sent its uevents, as the kernel stamped them: a datagram socket in the testbed's directory,
/// named like a monitor's (`event<digits>`), so that umockdev's sender, which sends each uevent to every such
/// socket in turn, sends it here too. The kernel timestamps each datagram as it is queued (SO_TIMESTAMPNS,
/// CLOCK_REALTIME), which is the moment "uevent sent" means, without umockdev's preparation of the message
/// before it (it builds a libudev device from the testbed first, which no kernel does).
///
/// umockdev sends to the sockets one after another; a benchmark opens one of these before its monitor and one
/// after, and takes the earlier of their stamps, which is never later than the send to the monitor.
public final class UeventStamps {
    private let descriptor: Int32
    private let path: String
    private var closed = false

    /// A socket at `<UMOCKDEV_DIR>/event<number>`.
    public init(number: Int) {
        let directory = String(cString: getenv("UMOCKDEV_DIR"))
        path = "\(directory)/event\(number)"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_TIMESTAMPNS, &on, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(bound == 0, "cannot bind \(path): \(String(cString: strerror(errno)))")
    }

    deinit { close() }

    /// Stops receiving: the socket goes, and umockdev skips its name from then on.
    public func close() {
        guard !closed else { return }
        closed = true
        unlink(path)
        Glibc.close(descriptor)
    }

    /// The kernel's stamp (CLOCK_REALTIME nanoseconds) of the last datagram queued since the last call, or nil.
    public func lastStamp() -> UInt64? {
        var last: UInt64?
        var buffer = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 256)
        while true {
            let received: Int = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let count = recvmsg(descriptor, &message, 0)
                        guard count >= 0 else { return -1 }
                        // The first control message is SCM_TIMESTAMPNS: a cmsghdr, then a timespec.
                        let header = controlBytes.load(as: cmsghdr.self)
                        if header.cmsg_level == SOL_SOCKET, header.cmsg_type == SO_TIMESTAMPNS {
                            let stamp = controlBytes.loadUnaligned(
                                fromByteOffset: MemoryLayout<cmsghdr>.size, as: timespec.self)
                            last = UInt64(stamp.tv_sec) * 1_000_000_000 + UInt64(stamp.tv_nsec)
                        }
                        return count
                    }
                }
            }
            if received < 0 { return last }
        }
    }
}

/// CLOCK_REALTIME in nanoseconds, the clock of `UeventStamps`.
public func realtimeNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Paces umockdev's uevents by what the monitors read, so that its sender never finds a socket full.
///
/// umockdev's sender (0.17) delivers each uevent as one datagram to every socket named `event<N>` in the testbed's
/// directory (a process's udev monitor under the preload binds one), without blocking, and calls abort() when a
/// send fails: a unix datagram socket queues at most `net.unix.max_dgram_qlen` + 1 datagrams (10 + 1 here), so
/// a monitor more than that behind kills the benchmark. Before each uevent, ``waitForRoom(timeout:)`` connects a
/// datagram socket of its own to every such socket and waits until the kernel says it is writable, which for a
/// connected unix datagram socket means its peer's queue has room for one more. It runs in the only process that
/// sends, and a reader only ever takes datagrams out, so the room stays until the send. A monitor's socket whose
/// owner is gone refuses the connection and is skipped (umockdev's sender unlinks it).
public enum UeventPacing {
    /// A monitor socket that stayed full for the whole timeout.
    public struct Stalled: Error, CustomStringConvertible {
        /// Its path, `<UMOCKDEV_DIR>/event<N>` (N is the descriptor number in the process that bound it).
        public var path: String
        public var description: String { "the monitor socket \(path) stayed full (its reader reads no more)" }
    }

    /// Waits until every monitor socket of the testbed can queue one more uevent; throws if one stays full for
    /// `timeout`.
    public static func waitForRoom(timeout: Duration = .seconds(60)) throws(Stalled) {
        guard let directory = getenv("UMOCKDEV_DIR").map({ String(cString: $0) }), let listing = opendir(directory)
        else { return }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("event"), name.count > 5, name.dropFirst(5).allSatisfy(\.isNumber) { names.append(name) }
        }
        closedir(listing)
        let deadline = ContinuousClock.now + timeout
        for name in names {
            let path = directory + "/" + name
            let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected == 0 else { continue }  // its monitor was closed
            while true {
                var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let left = deadline - ContinuousClock.now
                let milliseconds = Int32(max(0, min(1_000, left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000)))
                let ready = poll(&poller, 1, milliseconds)
                if ready > 0, poller.revents & Int16(POLLOUT) != 0 { break }
                if ready > 0 { break }  // an error or hang-up: the monitor went away
                if ready < 0, errno == EINTR { continue }
                if ContinuousClock.now >= deadline { throw Stalled(path: path) }
            }
        }
    }
}
