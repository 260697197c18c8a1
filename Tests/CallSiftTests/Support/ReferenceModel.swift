import Foundation
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// A deliberately naive, set-based implementation of docs/metrics.md, sections 1–5, used
/// as an oracle: it sees the whole input at once, sorts, scans windows by brute force, and
/// shares nothing with the streaming pipeline but timestamp parsing and the counter struct.
///
/// It reads clean canonical CSV whose values hold no commas (what `generate` writes
/// without `--dirty`), judges lateness itself, and counts per (centre, service, UTC day).
enum ReferenceModel {
    struct Ev {
        var ts: Int64; var centre: String; var call: String; var kind: String
        var caller: String; var service: String; var outcome: String; var reason: String
    }

    struct C {
        var t: Int64; var centre: String; var call: String; var service: String; var caller: String?
        var handled: Bool; var terminal: String; var wait: Int64; var handle: Int64
        var transferred: Bool; var elsewhere: Bool; var outcome: String; var reason: String
    }

    static func run(csv: String, settings s: AnalysisSettings) -> [String: Counters] {
        var lines = csv.split(separator: "\n").map(String.init)
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func col(_ n: String) -> Int? { header.firstIndex(of: n) }
        var events: [Ev] = []
        var maxSeen = Int64.min
        var seen = Set<String>()
        for line in lines where !line.isEmpty {
            // Values never hold commas here, so quoted fields just lose their quotes.
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
                guard field.hasPrefix("\""), field.hasSuffix("\""), field.count >= 2 else { return String(field) }
                return field.dropFirst().dropLast().replacingOccurrences(of: "\"\"", with: "\"")
            }
            func v(_ n: String) -> String { col(n).map { f[$0] } ?? "" }
            var tsText = v("ts")
            guard let ts = tsText.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { continue }
            if maxSeen != .min && ts < maxSeen - s.lateness { continue }  // late
            maxSeen = max(maxSeen, ts)
            let e = Ev(
                ts: ts, centre: v("centre"), call: v("call"), kind: v("event"), caller: v("caller"),
                service: v("service"), outcome: v("outcome"), reason: v("reason"))
            if !seen.insert("\(e.centre)\u{1}\(e.call)\u{1}\(e.kind)\u{1}\(e.ts)").inserted { continue }  // duplicate
            events.append(e)
        }
        let horizon = events.map(\.ts).max() ?? .min

        // Calls: per key, sorted by time, cut greedily at earliest + timeout.
        let rank = ["arrive": 0, "answer": 1, "transfer": 2, "abandon": 3, "blocked": 3, "end": 3]
        var byKey: [String: [Ev]] = [:]
        for e in events { byKey["\(e.centre)\u{1}\(e.call)", default: []].append(e) }
        var contacts: [C] = []
        for (_, evs) in byKey {
            var rest = evs.sorted { $0.ts != $1.ts ? $0.ts < $1.ts : rank[$0.kind]! < rank[$1.kind]! }
            while !rest.isEmpty {
                let limit = rest[0].ts + s.callTimeout
                let call = Array(rest.prefix { $0.ts <= limit })
                rest.removeFirst(call.count)
                if let c = contact(call) { contacts.append(c) }
            }
        }
        contacts.sort { a, b in
            if a.t != b.t { return a.t < b.t }
            if a.call != b.call { return a.call.utf8.lexicographicallyPrecedes(b.call.utf8) }
            return a.centre.utf8.lexicographicallyPrecedes(b.centre.utf8)
        }
        func scope(_ c: C) -> String? {
            guard let caller = c.caller else { return nil }
            switch s.scope {
            case .global: return caller
            case .centre: return caller + "\u{1}" + c.centre
            case .service: return caller + "\u{1}" + c.centre + "\u{1}" + c.service
            }
        }
        var byScope: [String: [Int]] = [:]
        for (i, c) in contacts.enumerated() { if let k = scope(c) { byScope[k, default: []].append(i) } }

        var out: [String: Counters] = [:]
        for (i, c) in contacts.enumerated() {
            let day = Timestamp.format(millis: c.t).prefix(10)
            var n = out["\(c.centre)|\(c.service)|\(day)", default: Counters()]
            n.contacts += 1
            if c.caller != nil { n.identified += 1 }
            if c.handled {
                n.handled += 1; n.waitMsSum += c.wait; n.handleMsSum += c.handle
                if c.wait <= s.slThreshold { n.answeredInSL += 1 }
            }
            if c.terminal == "abandon" { n.abandoned += 1; if c.wait < s.shortAbandon { n.shortAbandoned += 1 } }
            if c.terminal == "blocked" { n.blocked += 1 }
            if c.transferred { n.transferred += 1 }
            var priors: [C] = [], laters: [C] = []
            if let k = scope(c) {
                for j in byScope[k]! where j != i { if j < i { priors.append(contacts[j]) } else { laters.append(contacts[j]) } }
            }
            func prior(_ w: Int64, _ p: (C) -> Bool) -> Bool { priors.contains { c.t - $0.t >= 0 && c.t - $0.t <= w && p($0) } }
            let classes: [(Bool, WritableKeyPath<Counters, Int64>)] = [
                (c.reason == "progress_chase" || prior(s.chaseWindow) { $0.handled && $0.outcome == "pending" }, \.progressChase),
                (prior(s.repeatWindow) { $0.handled }, \.repeats),
                (prior(s.retryWindow) { $0.terminal != "end" }, \.retry),
                (c.reason == "misdirected" || c.elsewhere, \.misdirected),
                (c.reason == "clarification", \.clarification),
            ]
            if let hit = classes.first(where: { $0.0 }) { n.avoidable += 1; n[keyPath: hit.1] += 1 }
            if c.handled && c.caller != nil {
                if c.t + s.repeatWindow <= horizon {
                    n.fcrEligible += 1
                    let later = laters.contains { $0.t - c.t >= 0 && $0.t - c.t <= s.repeatWindow }
                    if c.outcome != "unresolved" && !later { n.fcr += 1 }
                } else {
                    n.fcrPending += 1
                }
            }
            out["\(c.centre)|\(c.service)|\(day)"] = n
        }
        return out
    }

    static func contact(_ call: [Ev]) -> C? {
        let arrives = call.filter { $0.kind == "arrive" }, answers = call.filter { $0.kind == "answer" }
        let terms = call.filter { ["abandon", "blocked", "end"].contains($0.kind) }
        if arrives.count > 1 || answers.count > 1 || terms.count > 1 { return nil }
        if let t = terms.first, (t.kind == "end") != (answers.count == 1) { return nil }
        if let a = arrives.first, let b = answers.first, b.ts < a.ts { return nil }
        if let b = answers.first, let t = terms.first, t.ts < b.ts { return nil }
        if let a = arrives.first, let t = terms.first, t.ts < a.ts { return nil }
        for x in call where x.kind == "transfer" {
            if let a = arrives.first, x.ts < a.ts { return nil }
            if let t = terms.first, x.ts > t.ts { return nil }
        }
        guard let a = arrives.first, let t = terms.first else { return nil }
        let unidentified = ["", "anonymous", "withheld", "private", "unknown", "unavailable"].contains(a.caller.lowercased())
        let transfers = call.filter { $0.kind == "transfer" }
        return C(
            t: a.ts, centre: a.centre, call: a.call, service: a.service, caller: unidentified ? nil : a.caller,
            handled: !answers.isEmpty, terminal: t.kind, wait: (answers.first?.ts ?? t.ts) - a.ts,
            handle: answers.first.map { t.ts - $0.ts } ?? 0, transferred: !transfers.isEmpty,
            elsewhere: transfers.contains { !$0.service.isEmpty && $0.service != a.service },
            outcome: t.kind == "end" ? (t.outcome.isEmpty ? "resolved" : t.outcome) : "resolved",
            reason: call.last { !$0.reason.isEmpty }?.reason ?? "")
    }
}
