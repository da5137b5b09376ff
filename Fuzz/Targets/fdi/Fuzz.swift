import FuzzEntries

/// libFuzzer's entry: one input, checked by `FuzzTarget.fdi`; a broken invariant is a crash libFuzzer records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if let broken = FuzzTarget.fdi.run(Array(UnsafeBufferPointer(start: data, count: count))) {
        fatalError("FuzzTarget.fdi: \(broken)")
    }
    return 0
}
