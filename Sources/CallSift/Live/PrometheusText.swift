import CallSiftCore
import CallSiftInput
import CallSiftFormats
/// The counters and rates of a report in Prometheus' text format, for node_exporter's
/// textfile collector (`--metrics-file`): one sample per centre and service, summed over
/// every period the report holds, plus the accounting of lines.
public enum PrometheusText {
    /// The report's counters per centre and service (per centre with `--by centre`), summed
    /// over every period, in the report's order, each with its sample labels.
    package static func groups(_ r: Report) -> [(labels: String, counters: Counters)] {
        struct Key: Hashable { var centre: String; var service: String }
        var sums: [Key: Counters] = [:]
        var order: [Key] = []
        for row in r.rows {
            let k = Key(centre: row.centre, service: row.service ?? "")
            if sums[k] == nil { order.append(k); sums[k] = Counters() }
            sums[k]!.merge(row.counters)
        }
        return order.map { k in
            let labels =
                r.settings.grouping == .service
                ? "centre=\"\(escape(k.centre))\",service=\"\(escape(k.service))\"" : "centre=\"\(escape(k.centre))\""
            return (labels, sums[k]!)
        }
    }

    public static func render(_ r: Report) -> String {
        let groups = groups(r)
        var o = ""
        let counters: [(String, String, KeyPath<Counters, Int64>)] = [
            ("contacts", "Valid calls that arrived.", \.contacts),
            ("handled", "Calls answered.", \.handled),
            ("abandoned", "Calls abandoned in the queue.", \.abandoned),
            ("short_abandoned", "Calls abandoned within the short-abandon time.", \.shortAbandoned),
            ("blocked", "Calls that never reached a queue.", \.blocked),
            ("transferred", "Calls transferred.", \.transferred),
            ("answered_in_sl", "Calls answered within the service-level threshold.", \.answeredInSL),
            ("avoidable", "Avoidable contacts.", \.avoidable),
            ("progress_chase", "Avoidable contacts chasing progress.", \.progressChase),
            ("repeat", "Avoidable contacts repeating a handled one.", \.repeats),
            ("retry", "Avoidable contacts retrying a failed one.", \.retry),
            ("misdirected", "Avoidable contacts misdirected.", \.misdirected),
            ("clarification", "Avoidable contacts seeking clarification.", \.clarification),
            ("fcr_eligible", "Handled identified contacts old enough to judge first-contact resolution.", \.fcrEligible),
            ("fcr", "Contacts resolved at first contact.", \.fcr),
            ("fcr_pending", "Handled identified contacts too recent to judge.", \.fcrPending),
        ]
        for (name, help, path) in counters {
            o += "# HELP callsift_\(name) \(help) Every period counted so far.\n# TYPE callsift_\(name) gauge\n"
            for g in groups { o += "callsift_\(name){\(g.labels)} \(g.counters[keyPath: path])\n" }
        }
        let rates: [(String, String, KeyPath<Counters, Int64>, KeyPath<Counters, Int64>)] = [
            ("fcr_rate", "First-contact resolution: fcr / fcr_eligible.", \.fcr, \.fcrEligible),
            ("avoidable_rate", "Avoidable contacts / contacts.", \.avoidable, \.contacts),
            ("repeat_rate", "Repeats / contacts.", \.repeats, \.contacts),
        ]
        for (name, help, x, n) in rates {
            o += "# HELP callsift_\(name) \(help) Absent where the denominator is 0.\n# TYPE callsift_\(name) gauge\n"
            for g in groups where g.counters[keyPath: n] > 0 {
                o += "callsift_\(name){\(g.labels)} \(Double(g.counters[keyPath: x]) / Double(g.counters[keyPath: n]))\n"
            }
        }
        o += "# HELP callsift_input_lines Input lines read, every input so far.\n# TYPE callsift_input_lines gauge\ncallsift_input_lines \(r.lines.lines)\n"
        if let h = r.horizon {
            o +=
                "# HELP callsift_horizon_seconds The latest event time read (Unix seconds).\n# TYPE callsift_horizon_seconds gauge\ncallsift_horizon_seconds \(Double(h) / 1000)\n"
        }
        return o
    }

    static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }
}
