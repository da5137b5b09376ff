import FuzzEntries

/// libFuzzer's entry: one input, checked by `FuzzTarget.uevent`; a broken invariant is a crash libFuzzer records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if let broken = FuzzTarget.uevent.run(Array(UnsafeBufferPointer(start: data, count: count))) {
        fatalError("FuzzTarget.uevent: \(broken)")
    }
    return 0
}
