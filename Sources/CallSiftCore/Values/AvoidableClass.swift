/// The avoidable-contact classes (docs/metrics.md, "Classes and FCR"), in precedence order.
public enum AvoidableClass: Int, Sendable, CaseIterable {
    case progressChase, `repeat`, retry, misdirected, clarification
}
