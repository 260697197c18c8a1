import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats

/// An `InputParser` driven directly, among the formats: what a format's tests need to read
/// a whole input as the engine does, with no engine.
@Suite struct InputParserTests {
    /// A CSV input held in memory, read to its end: the events it accepts, and where every
    /// other line went. A blank line and a repeated header are not lines; a line more than
    /// the lateness bound (10 minutes) below the greatest time read before it is late.
    @Test func csvInMemory() {
        let text = """
            ts,centre,call,event,caller,service,outcome,reason
            2026-03-02T00:30:00.000Z,C01,C01-1,arrive,02145051595,parking,,
            2026-03-02T00:30:05.000Z,C01,C01-1,answer,,,,

            ts,centre,call,event,caller,service,outcome,reason
            2026-03-02T00:31:00.000Z,C01,C01-1,end,,,resolved,
            2026-03-02T00:31:30.000Z,C01,C01-2
            not-a-time,C01,C01-2,arrive,02145051596,parking,,
            2026-03-02T00:10:00.000Z,C01,C01-3,arrive,02145051597,parking,,

            """
        let (parser, events) = Self.read(Array(text.utf8), settings: AnalysisSettings())

        #expect(parser.error == nil)
        #expect(events.count == 3)
        #expect(events.map(\.ts) == events.map(\.ts).sorted())
        let lines = parser.accounting
        #expect(lines.lines == 6)
        #expect(lines.rejectedTotal == 2)
        #expect(lines.rejected(.fieldCount) == 1)
        #expect(lines.rejected(.badTs) == 1)
        #expect(lines.late == 1)
        #expect(lines.skipped == 0 && lines.duplicates == 0)
        #expect(lines.lines == Int64(events.count) + lines.rejectedTotal + lines.late)
    }

    /// An input of the format given, held in memory, read to its end: where its records went.
    static func account(_ bytes: [UInt8], settings: AnalysisSettings, format: AnalysisSettings.InputFormat) throws
        -> LineAccounting
    {
        var settings = settings
        settings.format = format
        let (parser, _) = read(bytes, settings: settings)
        if let error = parser.error { throw error }
        return parser.accounting
    }

    /// A parser of `bytes`, held in memory, read to its end, and the events it accepted.
    static func read(_ bytes: [UInt8], settings: AnalysisSettings) -> (InputParser, [Event]) {
        let input = bytes.withUnsafeBytes { MemoryInput(name: "input.csv", bytes: $0) }
        let builder = EventBuilder(
            centres: Interner(), services: Interner(), reasons: Interner(), longCallIDs: LongCallIDs(),
            pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        let parser = InputParser(
            path: "input.csv", index: 0, settings: settings, builder: builder, rejects: nil, memory: input)
        var events: [Event] = []
        while !parser.isFinished { parser.fill(&events, upTo: 1024) }
        return (parser, events)
    }
}
