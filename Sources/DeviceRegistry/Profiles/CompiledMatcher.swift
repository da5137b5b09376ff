/// The compiled index: dispatches on equality conditions through hash tables and evaluates only the rules that
/// can apply, in application order, with results identical to ``SequentialMatcher``.
///
/// Each rule is filed under one of its conditions, the rarest that can be looked up by value: `string`, `int`,
/// `uint64`, `bool`, `string_outof`, `int_outof`, or `contains` (an element of a strlist such as
/// `usb.interfaces`). A rule with no such condition is a candidate for every device. The index is exact only
/// because it never files a rule under a key that some action writes: such a key's value at the moment HAL
/// evaluates the condition may differ from the device's raw value, so conditions on written keys are left to
/// evaluation, in order, like everything else.
public struct CompiledMatcher: DeviceMatcher {
    /// The rules applied.
    public let profiles: ProfileSet
    private let index: [String: KeyIndex]
    private let alwaysCandidates: [Int32]
    /// The keys some action writes; conditions on them are never used for dispatch.
    public let writtenKeys: Set<String>

    /// Compiles `profiles`.
    public init(_ profiles: ProfileSet) {
        self.profiles = profiles
        let rules = profiles.rules
        var written = Set<String>()
        for rule in rules {
            for action in rule.actions { written.insert(action.key) }
        }
        writtenKeys = written

        // First pass: how many rules each bucket would hold, to file every rule under its rarest condition.
        var population: [Bucket: Int] = [:]
        for rule in rules {
            for condition in rule.conditions where !written.contains(condition.key) {
                for bucket in Bucket.all(for: condition) { population[bucket, default: 0] += 1 }
            }
        }
        var index: [String: KeyIndex] = [:]
        var always: [Int32] = []
        for (position, rule) in rules.enumerated() {
            let ruleNumber = Int32(position)
            var best: (condition: MatchCondition, cost: Int)?
            for condition in rule.conditions where !written.contains(condition.key) {
                let buckets = Bucket.all(for: condition)
                guard Bucket.isIndexable(condition.test) else { continue }
                let cost = buckets.reduce(0) { $0 + population[$1, default: 0] }
                if best == nil || cost < best!.cost { best = (condition, cost) }
            }
            guard let chosen = best?.condition else {
                always.append(ruleNumber)
                continue
            }
            index[chosen.key, default: KeyIndex()].file(ruleNumber, under: chosen.test)
        }
        self.index = index
        self.alwaysCandidates = always
    }

    /// How many rules are candidates for every device because none of their conditions can be looked up.
    public var unindexedRuleCount: Int { alwaysCandidates.count }

    /// Applies every matching rule, in order, to `properties`.
    public func match(_ properties: DeviceProperties) -> MatchOutcome {
        let candidates = candidates(for: properties)
        var current = properties
        var applied: [SourceLocation] = []
        // The chain of conditions entered so far, as HAL's walk would hold it: rules under one <match> are
        // contiguous, so a condition leaves this stack only when the walk has left its element for good.
        var entered: [(id: Int, holds: Bool)] = []
        entered.reserveCapacity(8)
        let rules = profiles.rules
        for candidate in candidates {
            let rule = rules[Int(candidate)]
            let conditions = rule.conditions
            var depth = 0
            while depth < entered.count, depth < conditions.count, entered[depth].id == conditions[depth].id {
                depth += 1
            }
            entered.removeLast(entered.count - depth)
            if depth > 0, !entered[depth - 1].holds { continue }
            var holds = true
            while depth < conditions.count {
                holds = conditions[depth].holds(in: current)
                entered.append((conditions[depth].id, holds))
                if !holds { break }
                depth += 1
            }
            guard holds else { continue }
            for action in rule.actions { action.apply(to: &current) }
            applied.append(rule.location)
        }
        return MatchOutcome(properties: current, appliedRules: applied)
    }

    /// The rules that may apply to a device with these raw properties, in application order.
    func candidates(for properties: DeviceProperties) -> [Int32] {
        var candidates = alwaysCandidates
        let values = properties.dictionary
        if index.count <= values.count {
            for (key, keyIndex) in index {
                if let value = values[key] { keyIndex.collect(for: value, into: &candidates) }
            }
        } else {
            for (key, value) in values {
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

/// The rules filed under one property key, by the value that lets them apply.
private struct KeyIndex: Sendable {
    var strings: [String: [Int32]] = [:]
    var ints: [Int32: [Int32]] = [:]
    var uint64s: [UInt64: [Int32]] = [:]
    var bools: [Bool: [Int32]] = [:]
    /// `contains` rules by element, for strlist properties.
    var elements: [String: [Int32]] = [:]
    /// Every `contains` rule: when the property is a string, `contains` means substring and no lookup helps.
    var containsRules: [Int32] = []

    mutating func file(_ rule: Int32, under test: MatchTest) {
        func add<Key: Hashable>(_ key: Key, _ table: inout [Key: [Int32]]) {
            if table[key]?.last != rule { table[key, default: []].append(rule) }
        }
        switch test {
        case .string(let value): add(value, &strings)
        case .stringOutOf(let values): for value in values { add(value, &strings) }
        case .int(let value): add(value, &ints)
        case .intOutOf(let values): for value in values { add(value, &ints) }
        case .uint64(let value): add(value, &uint64s)
        case .bool(let value): add(value, &bools)
        case .contains(let value):
            add(value, &elements)
            containsRules.append(rule)
        default: preconditionFailure("only indexable tests are filed")
        }
    }

    func collect(for value: PropertyValue, into candidates: inout [Int32]) {
        switch value {
        case .string(let string):
            if let rules = strings[string] { candidates.append(contentsOf: rules) }
            candidates.append(contentsOf: containsRules)
        case .int(let int):
            if let rules = ints[int] { candidates.append(contentsOf: rules) }
        case .uint64(let uint):
            if let rules = uint64s[uint] { candidates.append(contentsOf: rules) }
        case .bool(let bool):
            if let rules = bools[bool] { candidates.append(contentsOf: rules) }
        case .strlist(let list):
            for element in list {
                if let rules = elements[element] { candidates.append(contentsOf: rules) }
            }
        case .double:
            break
        }
    }
}

/// A (key, value) slot of the index, used to count how many rules each would hold.
private struct Bucket: Hashable {
    enum Value: Hashable {
        case string(String), int(Int32), uint64(UInt64), bool(Bool), element(String)
    }
    var key: String
    var value: Value

    static func isIndexable(_ test: MatchTest) -> Bool {
        switch test {
        case .string, .stringOutOf, .int, .intOutOf, .uint64, .bool, .contains: true
        default: false
        }
    }

    static func all(for condition: MatchCondition) -> [Bucket] {
        let key = condition.key
        return switch condition.test {
        case .string(let value): [Bucket(key: key, value: .string(value))]
        case .stringOutOf(let values): values.map { Bucket(key: key, value: .string($0)) }
        case .int(let value): [Bucket(key: key, value: .int(value))]
        case .intOutOf(let values): values.map { Bucket(key: key, value: .int($0)) }
        case .uint64(let value): [Bucket(key: key, value: .uint64(value))]
        case .bool(let value): [Bucket(key: key, value: .bool(value))]
        // A contains rule is a candidate for every device whose property is a string: price it high.
        case .contains(let value): [Bucket(key: key, value: .element(value)), Bucket(key: key, value: .element(value))]
        default: []
        }
    }
}
