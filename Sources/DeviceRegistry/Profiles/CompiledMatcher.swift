// SPDX-License-Identifier: Apache-2.0
/// The compiled index: dispatches on equality conditions through hash tables and evaluates only the rules that
/// can apply, in application order, with results identical to ``SequentialMatcher``.
///
/// A rule whose conditions include equalities (`string`, `int`, `uint64`, `bool`) is filed under all of them at
/// once: its *signature* is the set of keys, its entry the tuple of values, so that `info.subsystem` ×
/// `usb.vendor_id` × `usb.product_id` is one hash lookup and only the rules for exactly this device come out.
/// A rule without equalities is filed under its rarest `string_outof`, `int_outof` or `contains` condition (an
/// element of a strlist such as `usb.interfaces`), and a rule with none of these is a candidate for every
/// device. The index is exact only because it never files a rule under a key that some action writes: such a
/// key's value at the moment HAL evaluates the condition may differ from the device's raw value, so conditions
/// on written keys are left to evaluation, in order, like everything else.
public struct CompiledMatcher: DeviceMatcher {
    /// The rules applied.
    public let profiles: ProfileSet
    /// The keys some action writes; conditions on them are never used for dispatch.
    public let writtenKeys: Set<String>
    /// The keys that signatures use, fetched once per match.
    private let slotKeys: [String]
    private let signatures: [SignatureTable]
    private let index: [String: KeyIndex]
    private let alwaysCandidates: [Int32]
    /// Per rule, the positions of conditions that dispatch already proved: exact (`int`, `uint64`, `bool`)
    /// equalities of its signature. Strings are still compared, because the table's `==` is Unicode-canonical
    /// and a condition's is bytewise.
    private let proven: [UInt64]
    /// The most conditions any rule has: the depth of the walk's stack.
    private let maximumDepth: Int

    /// Compiles `profiles`.
    public init(_ profiles: ProfileSet) {
        self.profiles = profiles
        let rules = profiles.rules
        var written = Set<String>()
        for rule in rules {
            for action in rule.actions { written.insert(action.key) }
        }
        writtenKeys = written

        // How many rules each single-key bucket would hold, to file a rule without equalities under its rarest
        // condition.
        var population: [Bucket: Int] = [:]
        for rule in rules {
            for condition in rule.conditions where !written.contains(condition.key) {
                Bucket.forEach(condition) { population[$0, default: 0] += 1 }
            }
        }
        var slots: [String: Int] = [:]
        var slotKeys: [String] = []
        var signatureNumbers: [[Int]: Int] = [:]
        var signatures: [SignatureTable] = []
        var index: [String: KeyIndex] = [:]
        var always: [Int32] = []
        var proven = [UInt64](repeating: 0, count: rules.count)
        for (position, rule) in rules.enumerated() {
            let ruleNumber = Int32(position)
            var equalities: [(key: String, value: EqualityValue)] = []
            var best: (condition: MatchCondition, cost: Int)?
            for condition in rule.conditions where !written.contains(condition.key) {
                if let value = EqualityValue(condition.test) {
                    // Two equalities on one key: filing under the first is enough, both must hold anyway.
                    if !equalities.contains(where: { $0.key == condition.key }) {
                        equalities.append((condition.key, value))
                    }
                } else if Bucket.isIndexable(condition.test) {
                    var cost = 0
                    Bucket.forEach(condition) { cost += population[$0, default: 0] }
                    if best == nil || cost < best!.cost { best = (condition, cost) }
                }
            }
            if !equalities.isEmpty {
                equalities.sort { $0.key < $1.key }
                let signatureSlots = equalities.map { equality in
                    if let slot = slots[equality.key] { return slot }
                    slots[equality.key] = slotKeys.count
                    slotKeys.append(equality.key)
                    return slotKeys.count - 1
                }
                let number =
                    signatureNumbers[signatureSlots]
                    ?? {
                        signatures.append(SignatureTable(slots: signatureSlots))
                        signatureNumbers[signatureSlots] = signatures.count - 1
                        return signatures.count - 1
                    }()
                signatures[number].file(ruleNumber, under: equalities.map(\.value))
                for (depth, condition) in rule.conditions.enumerated().prefix(64) where !written.contains(condition.key) {
                    switch condition.test {
                    case .int, .uint64, .bool:
                        // Only the equality actually filed for this key is proven (a second one may differ).
                        let filed = equalities.first { $0.key == condition.key }?.value
                        if filed == EqualityValue(condition.test) { proven[position] |= 1 << UInt64(depth) }
                    default: continue
                    }
                }
            } else if let chosen = best?.condition {
                index[chosen.key, default: KeyIndex()].file(ruleNumber, under: chosen.test)
            } else {
                always.append(ruleNumber)
            }
        }
        self.slotKeys = slotKeys
        self.signatures = signatures
        self.index = index
        self.alwaysCandidates = always
        self.proven = proven
        self.maximumDepth = rules.reduce(0) { max($0, $1.conditions.count) }
    }

    /// How many rules are candidates for every device because none of their conditions can be looked up.
    public var unindexedRuleCount: Int { alwaysCandidates.count }

    /// Applies every matching rule, in order, to `properties`.
    public func match(_ properties: DeviceProperties) -> MatchOutcome {
        let candidates = candidates(for: properties)
        var current = DeviceProperties(overlaying: properties)
        var applied: [SourceLocation] = []
        let rules = profiles.rules
        // The chain of conditions entered so far, as HAL's walk would hold it: rules under one <match> are
        // contiguous, so a condition leaves this stack only when the walk has left its element for good.
        withUnsafeTemporaryAllocation(of: (id: Int, holds: Bool).self, capacity: max(maximumDepth, 1)) { entered in
            var height = 0
            for candidate in candidates {
                let rule = rules[Int(candidate)]
                let conditions = rule.conditions
                var depth = 0
                while depth < height, depth < conditions.count, entered[depth].id == conditions[depth].id {
                    depth += 1
                }
                height = depth
                if depth > 0, !entered[depth - 1].holds { continue }
                var holds = true
                let provenMask = proven[Int(candidate)]
                while depth < conditions.count {
                    holds = (depth < 64 && provenMask & (1 << UInt64(depth)) != 0) || conditions[depth].holds(in: current)
                    entered[depth] = (conditions[depth].id, holds)
                    height = depth + 1
                    if !holds { break }
                    depth += 1
                }
                guard holds else { continue }
                for action in rule.actions { action.apply(to: &current) }
                applied.append(rule.location)
            }
        }
        return MatchOutcome(properties: current, appliedRules: applied)
    }

    /// The rules that may apply to a device with these raw properties, in application order.
    func candidates(for properties: DeviceProperties) -> [Int32] {
        var candidates = alwaysCandidates
        if !signatures.isEmpty {
            withUnsafeTemporaryAllocation(of: EqualityValue?.self, capacity: slotKeys.count) { slotValues in
                for (slot, key) in slotKeys.enumerated() {
                    slotValues.initializeElement(at: slot, to: properties[key].flatMap(EqualityValue.init))
                }
                defer { _ = slotValues.deinitialize() }
                for signature in signatures { signature.collect(slotValues, into: &candidates) }
            }
        }
        if index.count <= properties.count {
            for (key, keyIndex) in index {
                if let value = properties[key] { keyIndex.collect(for: value, into: &candidates) }
            }
        } else {
            for (key, value) in properties {
                if let keyIndex = index[key] { keyIndex.collect(for: value, into: &candidates) }
            }
        }
        if candidates.count > alwaysCandidates.count {
            candidates.sort()
            var unique = 0
            for position in candidates.indices where unique == 0 || candidates[unique - 1] != candidates[position] {
                candidates[unique] = candidates[position]
                unique += 1
            }
            candidates.removeLast(candidates.count - unique)
        }
        return candidates
    }
}

/// A value an equality condition compares with, hashable so that a tuple of them is a table key.
private enum EqualityValue: Hashable, Sendable {
    case string(String), int(Int32), uint64(UInt64), bool(Bool)

    init?(_ test: MatchTest) {
        switch test {
        case .string(let value): self = .string(value)
        case .int(let value): self = .int(value)
        case .uint64(let value): self = .uint64(value)
        case .bool(let value): self = .bool(value)
        default: return nil
        }
    }

    init?(_ value: PropertyValue) {
        switch value {
        case .string(let value): self = .string(value)
        case .int(let value): self = .int(value)
        case .uint64(let value): self = .uint64(value)
        case .bool(let value): self = .bool(value)
        case .double, .strlist: return nil
        }
    }
}

/// The rules filed under one set of keys (slots), by the tuple of values their equalities require.
///
/// Keyed by the tuple's hash, computed straight from the device's slot values, so a lookup builds no array.
private struct SignatureTable: Sendable {
    struct Entry: Sendable {
        var values: [EqualityValue]
        var rules: [Int32]
    }

    var slots: [Int]
    var entries: [Int: [Entry]] = [:]

    init(slots: [Int]) { self.slots = slots }

    mutating func file(_ rule: Int32, under values: [EqualityValue]) {
        var hasher = Hasher()
        for value in values { hasher.combine(value) }
        let hash = hasher.finalize()
        if let position = entries[hash]?.firstIndex(where: { $0.values == values }) {
            entries[hash]![position].rules.append(rule)
        } else {
            entries[hash, default: []].append(Entry(values: values, rules: [rule]))
        }
    }

    func collect(_ slotValues: UnsafeMutableBufferPointer<EqualityValue?>, into candidates: inout [Int32]) {
        var hasher = Hasher()
        for slot in slots {
            guard let value = slotValues[slot] else { return }
            hasher.combine(value)
        }
        guard let bucket = entries[hasher.finalize()] else { return }
        entries: for entry in bucket {
            for (position, slot) in slots.enumerated() where entry.values[position] != slotValues[slot] { continue entries }
            candidates.append(contentsOf: entry.rules)
        }
    }
}

/// The rules without equalities, filed under one property key by the value that lets them apply.
private struct KeyIndex: Sendable {
    /// `string_outof` rules by alternative.
    var strings: [String: [Int32]] = [:]
    /// `int_outof` rules by alternative.
    var ints: [Int32: [Int32]] = [:]
    /// `contains` rules by element, for strlist properties.
    var elements: [String: [Int32]] = [:]
    /// Every `contains` rule: when the property is a string, `contains` means substring and no lookup helps.
    var containsRules: [Int32] = []

    mutating func file(_ rule: Int32, under test: MatchTest) {
        func add<Key: Hashable>(_ key: Key, _ table: inout [Key: [Int32]]) {
            if table[key]?.last != rule { table[key, default: []].append(rule) }
        }
        switch test {
        case .stringOutOf(let values): for value in values { add(value, &strings) }
        case .intOutOf(let values): for value in values { add(value, &ints) }
        case .contains(let value):
            add(value, &elements)
            containsRules.append(rule)
        default: preconditionFailure("only string_outof, int_outof and contains are filed by key")
        }
    }

    func collect(for value: PropertyValue, into candidates: inout [Int32]) {
        switch value {
        case .string(let string):
            if let rules = strings[string] { candidates.append(contentsOf: rules) }
            candidates.append(contentsOf: containsRules)
        case .int(let int):
            if let rules = ints[int] { candidates.append(contentsOf: rules) }
        case .strlist(let list):
            for element in list {
                if let rules = elements[element] { candidates.append(contentsOf: rules) }
            }
        case .uint64, .bool, .double:
            break
        }
    }
}

/// A (key, value) slot of the single-key index, used to count how many rules each would hold.
private struct Bucket: Hashable {
    enum Value: Hashable {
        case string(String), int(Int32), element(String)
    }
    var key: String
    var value: Value

    static func isIndexable(_ test: MatchTest) -> Bool {
        switch test {
        case .stringOutOf, .intOutOf, .contains: true
        default: false
        }
    }

    static func forEach(_ condition: MatchCondition, _ body: (Bucket) -> Void) {
        let key = condition.key
        switch condition.test {
        case .stringOutOf(let values): for value in values { body(Bucket(key: key, value: .string(value))) }
        case .intOutOf(let values): for value in values { body(Bucket(key: key, value: .int(value))) }
        case .contains(let value):
            // A contains rule is a candidate for every device whose property is a string: price it double.
            body(Bucket(key: key, value: .element(value)))
            body(Bucket(key: key, value: .element(value)))
        default: break
        }
    }
}
