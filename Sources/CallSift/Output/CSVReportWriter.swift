import CallSiftCore
import CallSiftInput
import CallSiftFormats
import Foundation

/// Writes a `Report`'s rows as CSV (docs/metrics.md, "Output"): one row a line, with a
/// header; each rate becomes three columns (`name`, `name_lo`, `name_hi`); null is an
/// empty field. The `service` column is there only when rows are per service.
public enum CSVReportWriter {
    public static func render(_ r: Report) -> String {
        let perService = r.settings.grouping == .service
        var header = ["centre"]
        if perService { header.append("service") }
        header.append("period")
        header += Counters.fields.map(\.name)
        header += ["asa_s", "aht_s"]
        for rate in Counters().rates { header += [rate.name, rate.name + "_lo", rate.name + "_hi"] }
        // With durable state, whether each row is final (docs/metrics.md).
        if r.marksFinal { header.append("final") }
        var o = header.joined(separator: ",") + "\n"
        for row in r.rows {
            var f = [field(row.centre)]
            if perService { f.append(field(row.service ?? "")) }
            f.append(field(row.period))
            f += Counters.fields.map { String(row.counters[keyPath: $0.path]) }
            f += [row.counters.asaSeconds, row.counters.ahtSeconds].map(number)
            for rate in row.counters.rates {
                let w = RateValue(x: rate.x, n: rate.n, minCell: r.settings.minCell)
                f += [number(w.value), number(w.lo), number(w.hi)]
            }
            if r.marksFinal { f.append(row.final == true ? "true" : "false") }
            o += f.joined(separator: ",") + "\n"
        }
        return o
    }

    static func number(_ d: Double?) -> String {
        guard let d, d.isFinite else { return "" }
        return d.description
    }

    /// RFC 4180 quoting when a value needs it.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
