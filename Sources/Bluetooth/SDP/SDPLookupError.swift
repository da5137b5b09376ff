// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Why an SDP lookup of a device found nothing.
public struct SDPLookupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure, for code that reacts to it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// This computer has no Bluetooth adapter, no Bluetooth support, or the adapter is powered off.
        public static let noAdapter = Code("no adapter")
        /// The device did not answer the page: out of range, switched off, or refusing connections.
        public static let unreachable = Code("unreachable")
        /// The adapter is busy with another connection attempt; retrying later may succeed.
        public static let busy = Code("busy")
        /// No complete answer arrived within the lookup's time bound.
        public static let timedOut = Code("timed out")
        /// The device's SDP server answered with an SDP error response.
        public static let refused = Code("refused")
        /// The device answered out of protocol, closed the connection, or sent malformed records.
        public static let protocolError = Code("protocol error")
        /// The system did not allow the connection.
        public static let permissionDenied = Code("permission denied")
        /// The task awaiting the lookup was cancelled.
        public static let cancelled = Code("cancelled")
        /// Anything else; ``SDPLookupError/systemError`` says what.
        public static let failed = Code("failed")

        public var description: String { name }
    }

    /// What kind of failure.
    public var code: Code
    /// The device that was looked up.
    public var address: BluetoothAddress
    /// The errno behind the failure, where there was one.
    public var systemError: Int32?
    /// A sentence an operator can act on.
    public var reason: String

    /// An error of kind `code` for the lookup of `address`.
    public init(_ code: Code, address: BluetoothAddress, systemError: Int32? = nil, reason: String) {
        self.code = code
        self.address = address
        self.systemError = systemError
        self.reason = reason
    }

    /// Classifies an errno from a socket or libbluetooth call made while `step` (`"connecting"` …).
    init(errno error: Int32, address: BluetoothAddress, during step: String) {
        let detail = "\(step): \(String(cString: strerror(error)))"
        switch error {
        // No AF_BLUETOOTH in the kernel, or (EHOSTUNREACH from L2CAP) no powered adapter to route through.
        case EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EHOSTUNREACH, ENODEV, EADDRNOTAVAIL:
            self.init(.noAdapter, address: address, systemError: error,
                      reason: "no usable Bluetooth adapter (\(detail)); plug one in or power it on")
        // EHOSTDOWN is the page timeout: the device did not answer.
        case EHOSTDOWN, ETIMEDOUT, ECONNREFUSED, ECONNRESET, ECONNABORTED, ENETUNREACH, ENETDOWN, EPIPE, ENOTCONN:
            self.init(.unreachable, address: address, systemError: error,
                      reason: "the device did not answer (\(detail)); is it in range and switched on?")
        case EBUSY, EALREADY:
            self.init(.busy, address: address, systemError: error, reason: "the adapter is busy (\(detail)); retry later")
        case EACCES, EPERM:
            self.init(.permissionDenied, address: address, systemError: error, reason: "not permitted (\(detail))")
        case EPROTO:
            self.init(.protocolError, address: address, systemError: error,
                      reason: "the device closed the connection or answered out of protocol (\(detail))")
        default:
            self.init(.failed, address: address, systemError: error, reason: detail)
        }
    }

    public var description: String { "SDP lookup of \(address): \(reason)" }
}
