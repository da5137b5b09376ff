// SPDX-License-Identifier: Apache-2.0
import CBluetooth
import Glibc

// The SDP client edge of libbluetooth: opening a session without blocking, sending one asynchronous
// ServiceSearchAttribute request and feeding it the response as it arrives. Only ``SDPTransaction`` calls these,
// on its own queue.

// MARK: Raw calls

enum RawSessionCalls {
    typealias Notify = @convention(c) (UInt8, UInt16, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutableRawPointer?)
        -> Void

    /// `sdp_connect`: opens an L2CAP socket to the SDP server of `target`.
    static func connect(_ source: UnsafePointer<bdaddr_t>, _ target: UnsafePointer<bdaddr_t>, _ flags: UInt32)
        -> UnsafeMutablePointer<sdp_session_t>?
    {
        sdp_connect(source, target, flags)
    }

    /// `sdp_create`: a session over an already connected socket, which the session then owns.
    static func create(_ socket: Int32, _ flags: UInt32) -> UnsafeMutablePointer<sdp_session_t>? {
        sdp_create(socket, flags)
    }

    /// `sdp_close`: closes the socket and frees the session.
    static func close(_ session: UnsafeMutablePointer<sdp_session_t>) { _ = sdp_close(session) }

    /// `sdp_get_socket`.
    static func socket(_ session: UnsafeMutablePointer<sdp_session_t>) -> Int32 { sdp_get_socket(session) }

    /// `sdp_set_notify`: the function `sdp_process` calls when a transaction completes or fails.
    static func setNotify(_ session: UnsafeMutablePointer<sdp_session_t>, _ notify: Notify, _ context: UnsafeMutableRawPointer) -> Int32 {
        sdp_set_notify(session, notify, context)
    }

    /// `sdp_service_search_attr_async`: sends the request without waiting for the answer.
    static func searchAttributesAsync(
        _ session: UnsafeMutablePointer<sdp_session_t>, _ search: UnsafeMutablePointer<sdp_list_t>,
        _ attributes: UnsafeMutablePointer<sdp_list_t>
    ) -> Int32 {
        sdp_service_search_attr_async(session, search, SDP_ATTR_REQ_RANGE, attributes)
    }

    /// `sdp_process`: reads one response PDU; 0 while a continuation is pending, -1 once the callback ran.
    static func process(_ session: UnsafeMutablePointer<sdp_session_t>) -> Int32 { sdp_process(session) }

    /// `sdp_get_error`: the errno of the transaction's last failure.
    static func error(_ session: UnsafeMutablePointer<sdp_session_t>) -> Int32 { sdp_get_error(session) }
}

// MARK: Checked calls

enum CheckedSessionCalls {
    /// Opens a non-blocking session to `target`; the connection completes when the socket turns writable.
    ///
    /// `SDP_NON_BLOCKING` cannot be combined with `SDP_RETRY_IF_BUSY` (libbluetooth refuses with EINVAL), so a
    /// busy adapter surfaces as ``SDPLookupError/Code/busy`` for the caller to retry.
    static func connect(to target: BluetoothAddress) throws(SDPLookupError) -> UnsafeMutablePointer<sdp_session_t> {
        var source = BluetoothAddress.any.cValue
        var destination = target.cValue
        guard let session = RawSessionCalls.connect(&source, &destination, UInt32(SDP_NON_BLOCKING)) else {
            throw SDPLookupError(errno: errno, address: target, during: "connecting")
        }
        return session
    }

    /// Wraps a connected socket (made non-blocking here) in a session that owns it.
    static func adopt(socket: Int32, address: BluetoothAddress) throws(SDPLookupError) -> UnsafeMutablePointer<sdp_session_t> {
        let flags = fcntl(socket, F_GETFL)
        guard flags >= 0, fcntl(socket, F_SETFL, flags | O_NONBLOCK) == 0 else {
            let error = errno
            Glibc.close(socket)
            throw SDPLookupError(errno: error, address: address, during: "preparing the socket")
        }
        guard let session = RawSessionCalls.create(socket, 0) else {
            let error = errno
            Glibc.close(socket)
            throw SDPLookupError(errno: error, address: address, during: "creating the session")
        }
        return session
    }

    /// The outcome of a non-blocking connect, read once the socket is writable: nil on success, else errno.
    static func pendingError(_ session: UnsafeMutablePointer<sdp_session_t>) -> Int32? {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(RawSessionCalls.socket(session), SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
            return errno
        }
        return error == 0 ? nil : error
    }

    /// Sends a ServiceSearchAttribute request for every record that mentions L2CAP (which every BR/EDR
    /// service does, browsable or not) and asks for all attributes, 0x0000–0xFFFF.
    static func requestAllRecords(
        _ session: UnsafeMutablePointer<sdp_session_t>, address: BluetoothAddress
    ) throws(SDPLookupError) {
        var l2cap = uuid_t()
        _ = sdp_uuid16_create(&l2cap, UInt16(L2CAP_UUID))
        var range: UInt32 = 0x0000_FFFF
        let status = withUnsafeMutablePointer(to: &l2cap) { uuid in
            withUnsafeMutablePointer(to: &range) { range -> Int32 in
                // The lists only point at the two locals; the request is encoded before this returns.
                guard let search = sdp_list_append(nil, uuid) else { return -1 }
                defer { sdp_list_free(search, nil) }
                guard let attributes = sdp_list_append(nil, range) else { return -1 }
                defer { sdp_list_free(attributes, nil) }
                return RawSessionCalls.searchAttributesAsync(session, search, attributes)
            }
        }
        guard status == 0 else {
            let error = RawSessionCalls.error(session)
            throw SDPLookupError(errno: error > 0 ? error : errno, address: address, during: "sending the request")
        }
    }
}
