// SPDX-License-Identifier: Apache-2.0
internal import CGPhoto2

/// A libgphoto2 call that failed: which operation, its result code, and what the camera driver said.
struct GPhoto2Error: Error, Sendable, CustomStringConvertible {
    /// What was being done ("open the camera", "list /DCIM").
    var operation: String
    /// libgphoto2's result code (`GP_ERROR_*`, or a port's `GP_ERROR_IO_*`).
    var code: Int32
    /// The driver's own messages for this failure (gp_context errors), most specific first.
    var details: [String]

    /// The operation was stopped by a cancellation.
    var isCancellation: Bool { code == GP_ERROR_CANCEL }

    /// libgphoto2's words for the code.
    var reason: String {
        guard let text = gp_result_as_string(code) else { return "error \(code)" }
        return String(cString: text)
    }

    var description: String {
        let detail = details.last.map { ": \($0)" } ?? ""
        return "cannot \(operation) (\(reason)\(detail))"
    }
}

/// Turns a libgphoto2 result into a thrown ``GPhoto2Error``, with the context's messages collected since the
/// last check.
@discardableResult
func checked(_ result: Int32, _ operation: @autoclosure () -> String, feedback: ContextFeedback) throws(GPhoto2Error) -> Int32 {
    let details = feedback.takeErrors()
    guard result < GP_OK else { return result }
    throw GPhoto2Error(operation: operation(), code: result, details: details)
}
