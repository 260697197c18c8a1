import CallSiftCore
import CallSiftInput
import CallSiftAccredit
import CallSiftGenerate
import ArgumentParser

/// The root command: `callsift analyze` (the default), `generate`, `merge`, `accredit` and `serve`.
struct CallSiftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callsift",
        abstract: "First-contact resolution and avoidable contact from contact-centre call-event logs.",
        discussion: """
            callsift reads call-event logs (CSV or NDJSON, plain or compressed with zstd, lz4 \
            or gzip), assembles calls, finds repeat callers, progress chasing, redials and \
            misdirected calls, and prints first-contact-resolution and avoidable-contact \
            figures with 95% confidence intervals for every centre, service and period.

            Start with `callsift analyze --help`.
            """,
        version: "0.1.0",
        subcommands: [Analyze.self, Generate.self, Merge.self, Accredit.self, Serve.self],
        defaultSubcommand: Analyze.self
    )
}
