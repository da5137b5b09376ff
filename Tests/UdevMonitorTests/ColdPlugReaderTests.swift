import Synchronization
import Testing
@testable import UdevMonitor

@Suite("Reading cold-plugged devices on several threads")
struct ColdPlugReaderTests {
    @Test("every item is read exactly once and the output keeps the input's order", arguments: [1, 2, 4])
    func orderAndCoverage(workers: Int) {
        let reader = ColdPlugReader(reader: offlineReader, workers: workers)
        let items = Array(0..<203)
        let calls = Mutex(0)
        let output = reader.parallelMap(items) { slice in
            calls.withLock { $0 += 1 }
            return slice.map { $0 * 2 }
        }
        #expect(output == items.map { $0 * 2 })
        #expect(calls.withLock { $0 } == workers, "203 items are enough for \(workers) worker(s)")
    }

    @Test("a few devices are read on the calling thread alone")
    func fewItemsOneWorker() {
        let reader = ColdPlugReader(reader: offlineReader, workers: 4)
        let calls = Mutex(0)
        let output = reader.parallelMap(Array(0..<(ColdPlugReader.minimumPerWorker * 2 - 1))) { slice in
            calls.withLock { $0 += 1 }
            return Array(slice)
        }
        #expect(output.count == ColdPlugReader.minimumPerWorker * 2 - 1)
        #expect(calls.withLock { $0 } == 1)
    }
}
