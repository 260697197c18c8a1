import CallSift
import CallSiftCore
import Foundation

/// `/metrics`: the families `--metrics-file` writes (`PrometheusText`), each rate's 95%
/// interval bounds, the build, and the follower's own health, in Prometheus' text
/// exposition format.
enum BoardMetrics {
    /// The version `callsift --version` prints.
    static let version = "0.1.0"

    static func render(_ r: Report, health: FollowHealth, emittedAt: Date) -> String {
        var o = PrometheusText.render(r)
        o += bounds(r)
        o += "# HELP callsift_build_info The callsift that serves these figures.\n# TYPE callsift_build_info gauge\n"
        o += "callsift_build_info{version=\"\(version)\"} 1\n"
        o += gauge("callsift_last_emit_seconds", "When the follower last replaced its figures (Unix seconds).", emittedAt.timeIntervalSince1970)
        o += gauge("callsift_bytes_read", "Decoded bytes of the followed log read by this process.", Double(health.bytesRead))
        o += gauge("callsift_lines_rejected", "Input lines rejected, every input so far.", Double(health.linesRejected))
        if let lag = health.lagSeconds {
            o += gauge("callsift_lag_seconds", "Seconds between the latest event read and the last emit.", lag)
        }
        return o
    }

    private static func gauge(_ name: String, _ help: String, _ value: Double) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(number(value))\n"
    }

    /// Whole numbers without a fraction, others as Swift prints a Double (which Prometheus
    /// reads back exactly).
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }

    /// The lower and upper Wilson bounds of each rate `PrometheusText` writes, per centre
    /// and service, summed over every period as it sums them.
    private static func bounds(_ r: Report) -> String {
        let groups = PrometheusText.groups(r)
        let rates: [(String, KeyPath<Counters, Int64>, KeyPath<Counters, Int64>)] = [
            ("fcr_rate", \.fcr, \.fcrEligible), ("avoidable_rate", \.avoidable, \.contacts), ("repeat_rate", \.repeats, \.contacts),
        ]
        var o = ""
        for (name, x, n) in rates {
            for (side, pick) in [("lower", 0), ("upper", 1)] {
                let family = "callsift_\(name)_\(side)"
                o += "# HELP \(family) The \(side) bound of callsift_\(name)'s 95% Wilson interval.\n# TYPE \(family) gauge\n"
                for g in groups {
                    guard let w = Wilson.interval(x: g.counters[keyPath: x], n: g.counters[keyPath: n]) else { continue }
                    o += "\(family){\(g.labels)} \(pick == 0 ? w.lo : w.hi)\n"
                }
            }
        }
        return o
    }

}
