// SPDX-License-Identifier: Apache-2.0
internal import CGPhoto2
import SyncEngine
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What libgphoto2 tells a context while it works, and the cancel flag it asks about.
///
/// Its callbacks run on the thread of the libgphoto2 call; ``cancel()`` runs on any thread. Both touch only the
/// atomic and the mutex.
final class ContextFeedback: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let errors = Mutex<[String]>([])

    /// Asks the running and every later operation to stop.
    func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Whether ``cancel()`` was called.
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func add(error text: String) {
        errors.withLock { if $0.count < 8 { $0.append(text) } }
    }

    /// The error messages since the last call.
    func takeErrors() -> [String] {
        errors.withLock { errors in
            defer { errors = [] }
            return errors
        }
    }
}

/// One camera opened through libgphoto2 on one port, with its own context.
///
/// libgphoto2 is not thread-safe for one camera: every call but ``cancel()`` must come from one thread at a time
/// (``PhotoImportWork`` makes them on one serial queue per job). The camera is closed in `deinit`.
final class CameraSession: @unchecked Sendable {  // confined to its job's serial queue; cancel() is atomic
    private let camera: UnsafeMutablePointer<Camera>
    private let context: OpaquePointer
    private let feedback = ContextFeedback()
    /// The port it was opened on (`usb:001,005`, `disk:/path`).
    let port: String

    /// Opens the camera on `port` (`usb:BBB,DDD` or `disk:/path`). `model` names libgphoto2's driver
    /// ("Directory Browse" for a `disk:` port); nil lets libgphoto2 find the camera's model on a USB port.
    init(port: String, model: String?) throws(GPhoto2Error) {
        self.port = port
        guard let context = gp_context_new() else {
            throw GPhoto2Error(operation: "create a libgphoto2 context", code: GP_ERROR_NO_MEMORY, details: [])
        }
        self.context = context
        var cameraPointer: UnsafeMutablePointer<Camera>?
        guard gp_camera_new(&cameraPointer) >= GP_OK, let cameraPointer else {
            gp_context_unref(context)
            throw GPhoto2Error(operation: "create a libgphoto2 camera", code: GP_ERROR_NO_MEMORY, details: [])
        }
        camera = cameraPointer
        let data = Unmanaged.passUnretained(feedback).toOpaque()
        gp_context_set_error_func(context, { _, text, data in
            guard let text, let data else { return }
            Unmanaged<ContextFeedback>.fromOpaque(data).takeUnretainedValue().add(error: String(cString: text))
        }, data)
        gp_context_set_cancel_func(context, { _, data in
            guard let data else { return GP_CONTEXT_FEEDBACK_OK }
            return Unmanaged<ContextFeedback>.fromOpaque(data).takeUnretainedValue().isCancelled
                ? GP_CONTEXT_FEEDBACK_CANCEL : GP_CONTEXT_FEEDBACK_OK
        }, data)
        // From here on deinit releases what was made.
        try configure(port: port, model: model)
        try checked(gp_camera_init(camera, context), "open the camera on \(port)", feedback: feedback)
    }

    private func configure(port: String, model: String?) throws(GPhoto2Error) {
        if let model {
            var list: OpaquePointer?
            try checked(gp_abilities_list_new(&list), "list libgphoto2's drivers", feedback: feedback)
            defer { gp_abilities_list_free(list) }
            try checked(gp_abilities_list_load(list, context), "load libgphoto2's drivers", feedback: feedback)
            let index = try checked(
                gp_abilities_list_lookup_model(list, model), "find libgphoto2's driver \"\(model)\"", feedback: feedback)
            var abilities = CameraAbilities()
            try checked(gp_abilities_list_get_abilities(list, index, &abilities), "read the driver's abilities", feedback: feedback)
            try checked(gp_camera_set_abilities(camera, abilities), "choose the driver", feedback: feedback)
        }
        var ports: OpaquePointer?
        try checked(gp_port_info_list_new(&ports), "list libgphoto2's ports", feedback: feedback)
        defer { gp_port_info_list_free(ports) }
        try checked(gp_port_info_list_load(ports), "load libgphoto2's port drivers", feedback: feedback)
        let index = try checked(gp_port_info_list_lookup_path(ports, port), "find the port \(port)", feedback: feedback)
        var info: GPPortInfo?
        try checked(gp_port_info_list_get_info(ports, index, &info), "read the port \(port)", feedback: feedback)
        try checked(gp_camera_set_port_info(camera, info), "choose the port \(port)", feedback: feedback)
    }

    deinit {
        gp_camera_exit(camera, context)
        gp_camera_unref(camera)
        gp_context_unref(context)
    }

    /// Stops the running operation and refuses every later one (any thread).
    func cancel() { feedback.cancel() }

    /// Whether ``cancel()`` was called.
    var isCancelled: Bool { feedback.isCancelled }

    /// Every file below `folder`, depth first, folders in the camera's order.
    func listFiles(below folder: String = "/") throws(GPhoto2Error) -> [CameraFileEntry] {
        var result: [CameraFileEntry] = []
        try collect(folder, into: &result, depth: 0)
        return result
    }

    private func collect(_ folder: String, into result: inout [CameraFileEntry], depth: Int) throws(GPhoto2Error) {
        guard depth < 16 else { return }  // a camera's tree is shallow; a loop in a folder browse is not followed
        if isCancelled { throw GPhoto2Error(operation: "list \(folder)", code: GP_ERROR_CANCEL, details: []) }
        for name in try names(in: folder, folders: false) {
            var info = CameraFileInfo()
            let status = gp_camera_file_get_info(camera, folder, name, &info, context)
            if status == GP_ERROR_CANCEL { try checked(status, "read \(name)", feedback: feedback) }
            _ = feedback.takeErrors()
            let file = info.file
            let hasSize = status >= GP_OK && (file.fields.rawValue & GP_FILE_INFO_SIZE.rawValue) != 0
            let hasTime = status >= GP_OK && (file.fields.rawValue & GP_FILE_INFO_MTIME.rawValue) != 0
            let hasType = status >= GP_OK && (file.fields.rawValue & GP_FILE_INFO_TYPE.rawValue) != 0
            let mimeType = hasType ? withUnsafeBytes(of: file.type) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) } : ""
            result.append(CameraFileEntry(
                folder: folder, name: name, size: hasSize ? UInt64(file.size) : 0,
                modified: hasTime ? Int64(file.mtime) : 0, mimeType: mimeType))
        }
        for name in try names(in: folder, folders: true) {
            try collect(folder == "/" ? "/\(name)" : "\(folder)/\(name)", into: &result, depth: depth + 1)
        }
    }

    private func names(in folder: String, folders: Bool) throws(GPhoto2Error) -> [String] {
        var list: OpaquePointer?
        try checked(gp_list_new(&list), "make a list", feedback: feedback)
        defer { gp_list_unref(list) }
        let status = folders
            ? gp_camera_folder_list_folders(camera, folder, list, context)
            : gp_camera_folder_list_files(camera, folder, list, context)
        try checked(status, "list \(folder == "/" ? "the camera's folders" : folder)", feedback: feedback)
        var names: [String] = []
        for index in 0..<max(0, gp_list_count(list)) {
            var name: UnsafePointer<CChar>?
            if gp_list_get_name(list, index, &name) >= GP_OK, let name { names.append(String(cString: name)) }
        }
        return names
    }

    /// Copies `entry` from the camera into the open file `fd` (which stays open).
    func download(_ entry: CameraFileEntry, to fd: Int32) throws(GPhoto2Error) {
        // libgphoto2 closes the descriptor a CameraFile was made from when the file is freed; it gets its own.
        let own = dup(fd)
        guard own >= 0 else { throw GPhoto2Error(operation: "copy \(entry.name)", code: GP_ERROR_IO, details: [String(cString: strerror(errno))]) }
        var file: OpaquePointer?
        do {
            try checked(gp_file_new_from_fd(&file, own), "copy \(entry.name)", feedback: feedback)
        } catch {
            close(own)
            throw error
        }
        defer { gp_file_unref(file) }
        try checked(
            gp_camera_file_get(camera, entry.folder, entry.name, GP_FILE_TYPE_NORMAL, file, context),
            "copy \(entry.path) from the camera", feedback: feedback)
    }
}

/// A file the camera lists, with what its info said.
struct CameraFileEntry: Sendable, Equatable {
    /// Its folder on the camera (`/DCIM/100CANON`).
    var folder: String
    /// Its name.
    var name: String
    /// Its size in bytes, 0 if unknown.
    var size: UInt64
    /// Its time, seconds since the epoch, 0 if unknown.
    var modified: Int64
    /// Its MIME type, `""` if unknown.
    var mimeType: String

    /// Its path on the camera.
    var path: String { folder == "/" ? "/\(name)" : "\(folder)/\(name)" }

    /// What the ledger knows it by.
    var deviceFile: DeviceFile { DeviceFile(path: path, size: size, modified: modified) }
}
