// SPDX-License-Identifier: Apache-2.0
/// The plain evaluator: every rule, in order, exactly as HAL walked its rule list.
///
/// A `<match>` element is evaluated once, when the walk first reaches a rule inside it, and its result is
/// remembered for the later rules of the same block: that is the moment HAL entered the element, because no
/// action runs between entering an element and reaching its first rule. It is the reference the
/// ``CompiledMatcher`` is tested against.
public struct SequentialMatcher: DeviceMatcher {
    /// The rules applied.
    public let profiles: ProfileSet

    /// A matcher over `profiles`.
    public init(_ profiles: ProfileSet) {
        self.profiles = profiles
    }

    /// Applies every matching rule, in order, to `properties`.
    public func match(_ properties: DeviceProperties) -> MatchOutcome {
        var current = DeviceProperties(overlaying: properties)
        var applied: [SourceLocation] = []
        var entered: [Int: Bool] = [:]
        rules: for rule in profiles.rules {
            for condition in rule.conditions {
                let holds: Bool
                if let known = entered[condition.id] {
                    holds = known
                } else {
                    holds = condition.holds(in: current)
                    entered[condition.id] = holds
                }
                if !holds { continue rules }
            }
            for action in rule.actions { action.apply(to: &current) }
            applied.append(rule.location)
        }
        return MatchOutcome(properties: current, appliedRules: applied)
    }
}
