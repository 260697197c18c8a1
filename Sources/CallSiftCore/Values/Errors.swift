/// A problem with the command line or settings, reported before any input is read.
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}
