import FuzzEntries

/// libFuzzer's entry: one input, checked by `FuzzTarget.config`; a broken invariant is a crash libFuzzer records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if let broken = FuzzTarget.config.run(Array(UnsafeBufferPointer(start: data, count: count))) {
        fatalError("FuzzTarget.config: \(broken)")
    }
    return 0
}
