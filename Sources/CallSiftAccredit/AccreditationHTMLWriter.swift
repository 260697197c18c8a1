import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// Writes an `Accreditation` as one self-contained HTML page: inline CSS and inline SVG
/// charts, no scripts, fonts, styles or images fetched from anywhere. Every chart is a
/// `<figure>` holding the SVG (with a title and description for assistive technology)
/// and, beside it, a table of the same figures, so screen-reader users and readers of a
/// printed copy get every number. Colour is never the only signal: verdicts are words and
/// symbols, funnel positions are written out.
public enum AccreditationHTMLWriter {
    public static func render(_ a: Accreditation, generatedBy: String = "callsift accredit") -> String {
        var o = ""
        o.reserveCapacity(64 * 1024)
        let s = a.standard
        o += "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        o += "<title>\(esc(s.name)): accreditation benchmark</title>\n<style>\n\(css)</style>\n</head>\n<body>\n"
        o += "<header>\n<h1>\(esc(s.name))</h1>\n<p class=\"lede\">Accreditation benchmark for the period \(esc(a.periodText)). "
        o +=
            "Every rate is shown with its 95% confidence interval; a centre meets a measure only when the whole interval is on the right side of the threshold.</p>\n"
        o += summaryCounts(a)
        o += "</header>\n<main>\n"
        o += contents(a)
        o += summarySection(a)
        for (g, group) in a.groups.enumerated() { o += groupSection(a, group, index: g) }
        if s.baseline != nil { o += baselineSection(a) }
        o += notesSection(a)
        o += methodSection(a)
        o +=
            "</main>\n<footer><p>Produced by \(esc(generatedBy)) from \(a.inputs.count == 1 ? "one input" : "\(a.inputs.count) inputs"); data up to \(esc(a.horizon.map { Timestamp.format(millis: $0) } ?? "no events")).</p></footer>\n"
        o += "</body>\n</html>\n"
        return o
    }

    // MARK: sections

    static func summaryCounts(_ a: Accreditation) -> String {
        let acc = a.centres.filter { $0.status == .accredited }.count
        let not = a.centres.filter { $0.status == .notAccredited }.count
        let open = a.centres.count - acc - not
        var o = "<ul class=\"counts\" aria-label=\"Summary\">"
        o += "<li><strong>\(a.centres.count)</strong> centres</li>"
        o += "<li class=\"meets\"><strong>\(acc)</strong> \(Symbol.meets) accredited</li>"
        o += "<li class=\"fails\"><strong>\(not)</strong> \(Symbol.fails) not accredited</li>"
        o += "<li class=\"open\"><strong>\(open)</strong> \(Symbol.open) not yet decided</li>"
        o += "</ul>\n"
        return o
    }

    static func contents(_ a: Accreditation) -> String {
        var o = "<nav aria-label=\"Contents\"><h2>Contents</h2><ol>"
        o += "<li><a href=\"#summary\">Judgements against the standard</a></li>"
        for (g, group) in a.groups.enumerated() { o += "<li><a href=\"#group-\(g)\">Peer comparison: \(esc(group.group.name))</a></li>" }
        if a.standard.baseline != nil { o += "<li><a href=\"#baseline\">Avoidable contact against the baseline</a></li>" }
        o += "<li><a href=\"#notes\">Notes</a></li><li><a href=\"#method\">Standard, taxonomy and method</a></li></ol></nav>\n"
        return o
    }

    static func summarySection(_ a: Accreditation) -> String {
        let s = a.standard
        var o = "<section id=\"summary\">\n<h2>Judgements against the standard</h2>\n"
        o +=
            "<p>Thresholds: "
            + s.thresholds.map { "<span class=\"nowrap\">\(esc(label($0.measure))) \(esc(opText($0.comparison))) \(pct($0.value))</span>" }.joined(
                separator: "; ")
        o += ". Rates with fewer than \(s.minCell) in the denominator are suppressed. A centre is accredited when it meets every measure.</p>\n"
        o +=
            "<div class=\"wide\"><table class=\"summary\">\n<caption>Each centre's rate, 95% interval and verdict per measure, \(esc(a.periodText))</caption>\n<thead><tr><th scope=\"col\">Centre</th><th scope=\"col\">Result</th>"
        for t in s.thresholds {
            o += "<th scope=\"col\">\(esc(label(t.measure)))<br><span class=\"sub\">\(esc(opText(t.comparison))) \(pct(t.value))</span></th>"
        }
        o += "<th scope=\"col\" class=\"num\">Contacts</th></tr></thead>\n<tbody>\n"
        for c in a.centres {
            o += "<tr><th scope=\"row\">\(esc(c.centre))</th><td>\(status(c.status))</td>"
            for j in c.judgements { o += "<td>\(verdict(j.verdict))<br><span class=\"sub\">\(rateText(j))</span></td>" }
            o += "<td class=\"num\">\(int(c.contacts))</td></tr>\n"
        }
        o += "</tbody></table></div>\n</section>\n"
        return o
    }

    static func groupSection(_ a: Accreditation, _ g: Accreditation.GroupResult, index: Int) -> String {
        var o = "<section id=\"group-\(index)\">\n<h2>Peer comparison: \(esc(g.group.name))</h2>\n"
        o +=
            "<p>\(esc(g.group.criterion.prefix(1).uppercased() + g.group.criterion.dropFirst())): \(g.centres.isEmpty ? "no centres in the period" : esc(g.centres.joined(separator: ", "))). "
        o +=
            "Each funnel plots a centre's rate against its volume. The solid line is the group's pooled rate; the dashed and dotted lines are the 95% and 99.8% control limits, the range within which a centre's rate would fall by chance alone if every centre performed at the pooled rate. Centres outside the limits are filled: green when on the better side of the group, red when on the worse; squares are beyond 99.8%. The table beside each chart is the league table: the rank alone says little, so read the interval.</p>\n"
        for (k, f) in g.funnels.enumerated() {
            let id = "g\(index)-m\(k)"
            o += "<figure class=\"chart\" aria-labelledby=\"\(id)-cap\">\n"
            o += "<figcaption id=\"\(id)-cap\"><h3>\(esc(label(f.measure)))</h3>\(funnelSummary(f))</figcaption>\n"
            o += "<div class=\"pair\">\n"
            o += funnelSVG(f, id: id, minCell: a.standard.minCell)
            o += leagueTable(f, id: id, groupName: g.group.name)
            o += "</div>\n</figure>\n"
        }
        o += "</section>\n"
        return o
    }

    static func funnelSummary(_ f: Accreditation.Funnel) -> String {
        guard let p0 = f.pooled else { return "<p>No centre in this group has enough contacts to publish.</p>" }
        var o = "<p>Pooled rate \(pct(p0)) (\(int(f.pooledX)) of \(int(f.pooledN))) over \(f.points.count) centres"
        if !f.suppressed.isEmpty { o += "; \(f.suppressed.count) suppressed (\(esc(f.suppressed.joined(separator: ", "))))" }
        o += ". "
        let outside = f.points.filter { $0.position.isOutside }
        if outside.isEmpty {
            o += "No centre is outside the 95% limits."
        } else {
            let parts = outside.map { p in
                "<strong>\(esc(p.centre))</strong> \(esc(p.position.rawValue)) (\(p.better == true ? "better" : "worse") than the group)"
            }
            o += "Outside the limits: " + parts.joined(separator: "; ") + "."
        }
        if let phi = f.dispersion {
            o += " Overdispersion φ = \(String(format: "%.2f", phi))\(f.overdispersed ? ": centres differ by more than chance" : "")."
        }
        return o + "</p>"
    }

    static func leagueTable(_ f: Accreditation.Funnel, id: String, groupName: String) -> String {
        var o =
            "<div class=\"tablewrap\"><table class=\"league\" id=\"\(id)-table\">\n<caption>League table: \(esc(label(f.measure))), \(esc(groupName)) (best first)</caption>\n"
        o +=
            "<thead><tr><th scope=\"col\" class=\"num\">Rank</th><th scope=\"col\">Centre</th><th scope=\"col\" class=\"num\">x / n</th><th scope=\"col\" class=\"num\">Rate</th><th scope=\"col\">95% interval</th><th scope=\"col\">Funnel</th><th scope=\"col\">Standard</th></tr></thead>\n<tbody>\n"
        for p in f.points {
            let j = p.judgement
            o += "<tr><td class=\"num\">\(p.rank)</td><th scope=\"row\">\(esc(p.centre))</th><td class=\"num\">\(int(j.x)) / \(int(j.n))</td>"
            o += "<td class=\"num\">\(pct(j.value))</td><td class=\"nowrap\">\(interval(j.lo, j.hi))</td>"
            o += "<td class=\"\(p.position.isOutside ? (p.better == true ? "better" : "worse") : "muted") nowrap\">\(esc(p.position.rawValue))</td>"
            o += "<td>\(verdict(j.verdict))</td></tr>\n"
        }
        for name in f.suppressed {
            o +=
                "<tr><td class=\"num\">–</td><th scope=\"row\">\(esc(name))</th><td class=\"num\" colspan=\"3\">fewer than the minimum cell</td><td class=\"muted\">not plotted</td><td>\(verdict(.suppressed))</td></tr>\n"
        }
        o += "</tbody></table></div>\n"
        return o
    }

    static func baselineSection(_ a: Accreditation) -> String {
        let s = a.standard
        guard let b = s.baseline else { return "" }
        var o = "<section id=\"baseline\">\n<h2>\(esc(label(s.baselineMeasure))) against the baseline</h2>\n"
        o += "<p>Baseline \(esc(b.text)); period \(esc(a.periodText)). The aim is a \(pct(s.targetReduction, digits: 0)) reduction. "
        if let ob = a.overallBaseline {
            o +=
                "Across all centres: \(pct(ob.baselineRate)) in the baseline, \(pct(ob.periodRate)) in the period, a relative reduction of \(pct(ob.reduction)) (95% interval \(interval(ob.reductionLo, ob.reductionHi))), \(pct(ob.progress, digits: 0)) of the way to the aim: <strong>\(esc(ob.verdict.rawValue))</strong>."
        }
        o +=
            "</p>\n<figure class=\"chart\" aria-labelledby=\"baseline-cap\">\n<figcaption id=\"baseline-cap\"><h3>Relative reduction in \(esc(label(s.baselineMeasure).lowercased())), with 95% intervals</h3><p>A dot right of the dashed line at \(pct(s.targetReduction, digits: 0)) with its whole interval there has met the aim; left of zero, the rate rose.</p></figcaption>\n<div class=\"pair\">\n"
        o += forestSVG(a)
        o +=
            "<div class=\"tablewrap\"><table class=\"baseline\" id=\"baseline-table\">\n<caption>\(esc(label(s.baselineMeasure))): baseline, period and relative reduction per centre</caption>\n"
        o +=
            "<thead><tr><th scope=\"col\">Centre</th><th scope=\"col\" class=\"num\">Baseline</th><th scope=\"col\" class=\"num\">Period</th><th scope=\"col\" class=\"num\">Reduction</th><th scope=\"col\">95% interval</th><th scope=\"col\" class=\"num\">Progress to aim</th><th scope=\"col\">Aim</th></tr></thead>\n<tbody>\n"
        var rows = a.centres.compactMap { c in c.baseline.map { (c.centre, $0) } }
        if let ob = a.overallBaseline { rows.append(("All centres", ob)) }
        for (name, c) in rows {
            let cls =
                switch c.verdict {
                case .aimMet: "meets";
                case .aimNotMet: "fails";
                case .notYetConclusive: "open";
                default: "muted"
                }
            o +=
                "<tr><th scope=\"row\">\(esc(name))</th><td class=\"num\">\(pct(c.baselineRate)) <span class=\"sub\">of \(int(c.baselineN))</span></td><td class=\"num\">\(pct(c.periodRate)) <span class=\"sub\">of \(int(c.periodN))</span></td>"
            o +=
                "<td class=\"num\">\(pct(c.reduction))</td><td class=\"nowrap\">\(interval(c.reductionLo, c.reductionHi))</td><td class=\"num\">\(pct(c.progress, digits: 0))</td><td class=\"\(cls)\">\(esc(c.verdict.rawValue))</td></tr>\n"
        }
        o += "</tbody></table></div>\n</div>\n</figure>\n</section>\n"
        return o
    }

    static func notesSection(_ a: Accreditation) -> String {
        var o = "<section id=\"notes\">\n<h2>Notes</h2>\n"
        if a.notes.isEmpty {
            o += "<p>None.</p>\n"
        } else {
            o += "<ul>\n" + a.notes.map { "<li>\(esc($0))</li>\n" }.joined() + "</ul>\n"
        }
        return o + "</section>\n"
    }

    static func methodSection(_ a: Accreditation) -> String {
        let s = a.standard, st = a.settings
        var o = "<section id=\"method\">\n<h2>Standard, taxonomy and method</h2>\n<div class=\"cols\">\n"
        o += "<table class=\"kv\"><caption>Standard in force</caption><tbody>\n"
        o += "<tr><th scope=\"row\">Standard</th><td>\(esc(s.name))</td></tr>\n"
        o += "<tr><th scope=\"row\">Reporting period</th><td>\(esc(a.periodText))</td></tr>\n"
        o += "<tr><th scope=\"row\">Baseline</th><td>\(esc(s.baseline?.text ?? "none"))</td></tr>\n"
        o += "<tr><th scope=\"row\">Minimum cell</th><td>\(s.minCell)</td></tr>\n"
        for t in s.thresholds { o += "<tr><th scope=\"row\">\(esc(label(t.measure)))</th><td><code>\(esc(t.text))</code></td></tr>\n" }
        for g in a.groups { o += "<tr><th scope=\"row\">Peer group</th><td>\(esc(g.group.name)): \(esc(g.group.criterion))</td></tr>\n" }
        o += "</tbody></table>\n"
        o += "<table class=\"kv\"><caption>Analysis settings</caption><tbody>\n"
        let rows: [(String, String)] = [
            ("Caller scope", st.scope.rawValue), ("Time zone", st.timeZone),
            ("Repeat window (FCR)", HumanDuration.format(millis: st.repeatWindow)),
            ("Chase window", HumanDuration.format(millis: st.chaseWindow)),
            ("Retry window", HumanDuration.format(millis: st.retryWindow)),
            ("Service-level threshold", HumanDuration.format(millis: st.slThreshold)),
            ("Short abandon", HumanDuration.format(millis: st.shortAbandon)),
            ("Inputs", a.inputs.joined(separator: ", ")),
        ]
        for (k, v) in rows { o += "<tr><th scope=\"row\">\(esc(k))</th><td>\(esc(v))</td></tr>\n" }
        o += "</tbody></table>\n"
        o += "<table class=\"kv\"><caption>Reason-code taxonomy in force</caption>\n"
        if let map = st.reasonMap, !map.isEmpty {
            o += "<thead><tr><th scope=\"col\">Centre's code</th><th scope=\"col\">Counts as</th></tr></thead><tbody>\n"
            for (k, v) in map.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                o += "<tr><td><code>\(esc(k))</code></td><td>\(esc(v == "none" ? "nothing (kept for reporting)" : v))</td></tr>\n"
            }
            o +=
                "<tr><td colspan=\"2\" class=\"sub\">Other codes: progress_chase, clarification and misdirected as themselves; the rest do not classify.</td></tr>\n"
        } else {
            o +=
                "<tbody><tr><td>No map: only the reserved codes <code>progress_chase</code>, <code>clarification</code> and <code>misdirected</code> classify a contact (docs/metrics.md, \"Classes and FCR\").</td></tr>\n"
        }
        o += "</tbody></table>\n</div>\n"
        o +=
            "<p><strong>Judgements.</strong> Each rate x/n has a Wilson score 95% interval. <em>Meets</em>: every value in the interval satisfies the threshold. <em>Does not meet</em>: none does. <em>Not yet conclusive</em>: the interval straddles the threshold, so more data is needed. <em>Suppressed</em>: n is below the minimum cell (\(s.minCell)), including n = 0.</p>\n"
        o +=
            "<p><strong>Funnel plots</strong> (Spiegelhalter 2005), with control limits as in UK public-health practice (PHE/OHID Fingertips): the Wilson score interval of the pooled rate p₀ at each volume n, z = 1.96 (95%) and z = 3.09 (99.8%). The pooled rate is over the published centres of the group only, so that suppressed counts cannot be recovered from it. Limits assume every centre has the same underlying rate; when the overdispersion ratio φ is well above 1, real differences between centres put more of them outside.</p>\n"
        o +=
            "<p><strong>Baseline.</strong> The rate ratio RR = p(period)/p(baseline) with a log-scale (Katz) 95% interval; the relative reduction is 1 − RR, and progress to the aim is the reduction divided by the aimed-for reduction. The two periods share callers, so they are not fully independent samples; the interval is approximate.</p>\n"
        o += "</section>\n"
        return o
    }

    // MARK: charts

    static let chartW = 560.0, chartH = 370.0
    static let mL = 58.0, mR = 18.0, mT = 18.0, mB = 78.0

    static func funnelSVG(_ f: Accreditation.Funnel, id: String, minCell: Int64) -> String {
        let W = chartW, H = chartH
        let pw = W - mL - mR, ph = H - mT - mB
        guard let p0 = f.pooled, !f.points.isEmpty else {
            return
                "<svg class=\"funnel\" role=\"img\" aria-labelledby=\"\(id)-t\" viewBox=\"0 0 \(Int(W)) 60\" width=\"\(Int(W))\" height=\"60\"><title id=\"\(id)-t\">No published centres</title><text x=\"10\" y=\"30\" class=\"axis\">No centre has enough contacts to plot.</text></svg>\n"
        }
        let maxN = Double(f.points.map(\.judgement.n).max()!)
        let xMax = niceCeil(maxN * 1.06)
        let nMin = max(Double(max(minCell, 1)), xMax / 400)
        let smallest = Double(f.points.map(\.judgement.n).min()!)
        // Vertical range: every point, the threshold, and the limits at half the smallest
        // volume, so the funnel's mouth shows without flattening the points.
        var ys = f.points.map { $0.judgement.value! } + [f.threshold.value, p0]
        let wide = FunnelLimits.limits(p0: p0, n: max(nMin, smallest / 2), z: FunnelLimits.z998)
        ys += [wide.lo, wide.hi]
        var yLo = max(0, ys.min()!), yHi = min(1, ys.max()!)
        let padY = max((yHi - yLo) * 0.06, 0.005)
        yLo = max(0, yLo - padY); yHi = min(1, yHi + padY)
        let (ticksY, stepY) = niceTicks(yLo, yHi, count: 6)
        yLo = min(yLo, ticksY.first ?? yLo); yHi = max(yHi, ticksY.last ?? yHi)
        func X(_ n: Double) -> Double { mL + n / xMax * pw }
        func Y(_ v: Double) -> Double { mT + (1 - (v - yLo) / (yHi - yLo)) * ph }

        var o =
            "<svg class=\"funnel\" role=\"img\" aria-labelledby=\"\(id)-t \(id)-d\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" width=\"\(Int(W))\" height=\"\(Int(H))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        let outside = f.points.filter { $0.position.isOutside }.map { "\($0.centre) \($0.position.rawValue)" }
        o += "<title id=\"\(id)-t\">Funnel plot of \(esc(label(f.measure).lowercased())) against volume</title>\n"
        o +=
            "<desc id=\"\(id)-d\">\(f.points.count) centres; pooled rate \(pct(p0)); \(outside.isEmpty ? "none outside the limits" : esc(outside.joined(separator: "; "))). The same figures are in the league table beside the chart.</desc>\n"
        o += "<defs><clipPath id=\"\(id)-clip\"><rect x=\"\(f1(mL))\" y=\"\(f1(mT))\" width=\"\(f1(pw))\" height=\"\(f1(ph))\"/></clipPath></defs>\n"
        o += "<rect x=\"\(f1(mL))\" y=\"\(f1(mT))\" width=\"\(f1(pw))\" height=\"\(f1(ph))\" class=\"plot\"/>\n"
        // Grid and axes.
        for t in ticksY where t >= yLo - 1e-12 && t <= yHi + 1e-12 {
            o += "<line x1=\"\(f1(mL))\" x2=\"\(f1(mL + pw))\" y1=\"\(f1(Y(t)))\" y2=\"\(f1(Y(t)))\" class=\"grid\"/>"
            o += "<text x=\"\(f1(mL - 6))\" y=\"\(f1(Y(t) + 4))\" text-anchor=\"end\" class=\"axis\">\(pctTick(t, step: stepY))</text>\n"
        }
        let (ticksX, _) = niceTicks(0, xMax, count: 6)
        for t in ticksX where t <= xMax {
            o += "<line x1=\"\(f1(X(t)))\" x2=\"\(f1(X(t)))\" y1=\"\(f1(mT))\" y2=\"\(f1(mT + ph))\" class=\"grid\"/>"
            o += "<text x=\"\(f1(X(t)))\" y=\"\(f1(mT + ph + 16))\" text-anchor=\"middle\" class=\"axis\">\(int(t))</text>\n"
        }
        o += "<text x=\"\(f1(mL + pw / 2))\" y=\"\(f1(mT + ph + 34))\" text-anchor=\"middle\" class=\"axis-title\">Volume (denominator n)</text>\n"
        o += "<text transform=\"translate(14 \(f1(mT + ph / 2))) rotate(-90)\" text-anchor=\"middle\" class=\"axis-title\">\(esc(label(f.measure)))</text>\n"
        // Limits.
        o += "<g clip-path=\"url(#\(id)-clip)\">\n"
        let steps = 90
        var l95lo: [String] = [], l95hi: [String] = [], l998lo: [String] = [], l998hi: [String] = []
        for k in 0...steps {
            let n = nMin * pow(xMax / nMin, Double(k) / Double(steps))
            let a = FunnelLimits.limits(p0: p0, n: n, z: FunnelLimits.z95)
            let b = FunnelLimits.limits(p0: p0, n: n, z: FunnelLimits.z998)
            l95lo.append("\(f1(X(n))),\(f1(Y(a.lo)))"); l95hi.append("\(f1(X(n))),\(f1(Y(a.hi)))")
            l998lo.append("\(f1(X(n))),\(f1(Y(b.lo)))"); l998hi.append("\(f1(X(n))),\(f1(Y(b.hi)))")
        }
        o +=
            "<polyline points=\"\(l998lo.joined(separator: " "))\" class=\"lim998\"/>\n<polyline points=\"\(l998hi.joined(separator: " "))\" class=\"lim998\"/>\n"
        o += "<polyline points=\"\(l95lo.joined(separator: " "))\" class=\"lim95\"/>\n<polyline points=\"\(l95hi.joined(separator: " "))\" class=\"lim95\"/>\n"
        o += "<line x1=\"\(f1(mL))\" x2=\"\(f1(mL + pw))\" y1=\"\(f1(Y(p0)))\" y2=\"\(f1(Y(p0)))\" class=\"pooled\"/>\n"
        o += "<line x1=\"\(f1(mL))\" x2=\"\(f1(mL + pw))\" y1=\"\(f1(Y(f.threshold.value)))\" y2=\"\(f1(Y(f.threshold.value)))\" class=\"threshold\"/>\n"
        o += "</g>\n"
        o +=
            "<text x=\"\(f1(mL + pw - 4))\" y=\"\(f1(Y(f.threshold.value) - 4))\" text-anchor=\"end\" class=\"threshold-label\">standard \(esc(opText(f.threshold.comparison))) \(pct(f.threshold.value))</text>\n"
        // Points: plain within the limits, filled beyond 95%, a larger square beyond 99.8%;
        // centres outside the limits are named on the chart.
        for p in f.points {
            let cx = X(Double(p.judgement.n)), cy = Y(p.judgement.value!)
            let tip = "<title>\(esc(p.centre)): \(pct(p.judgement.value)) of \(int(p.judgement.n)), \(esc(p.position.rawValue))</title>"
            let cls = p.position.isOutside ? (p.better == true ? "pt better" : "pt worse") : "pt"
            switch p.position {
            case .above998, .below998:
                o += "<rect x=\"\(f1(cx - 5))\" y=\"\(f1(cy - 5))\" width=\"10\" height=\"10\" class=\"\(cls)\">\(tip)</rect>\n"
            case .above95, .below95:
                o += "<circle cx=\"\(f1(cx))\" cy=\"\(f1(cy))\" r=\"5\" class=\"\(cls)\">\(tip)</circle>\n"
            case .within:
                o += "<circle cx=\"\(f1(cx))\" cy=\"\(f1(cy))\" r=\"4\" class=\"pt\">\(tip)</circle>\n"
            }
            if p.position.isOutside {
                let anchor = cx > mL + pw * 0.8 ? "end" : "start"
                let dx = anchor == "end" ? -8.0 : 8.0
                o += "<text x=\"\(f1(cx + dx))\" y=\"\(f1(cy + 4))\" text-anchor=\"\(anchor)\" class=\"pt-label\">\(esc(p.centre))</text>\n"
            }
        }
        // Legend, in one row under the axis title, clear of the data.
        o += "<g class=\"legend\" transform=\"translate(\(f1(mL - 40)) \(f1(H - 14)))\">"
        o += "<line x1=\"0\" x2=\"20\" y1=\"-4\" y2=\"-4\" class=\"pooled\"/><text x=\"24\" y=\"0\">pooled</text>"
        o += "<line x1=\"70\" x2=\"90\" y1=\"-4\" y2=\"-4\" class=\"threshold\"/><text x=\"94\" y=\"0\">standard</text>"
        o += "<line x1=\"150\" x2=\"170\" y1=\"-4\" y2=\"-4\" class=\"lim95\"/><text x=\"174\" y=\"0\">95%</text>"
        o += "<line x1=\"206\" x2=\"226\" y1=\"-4\" y2=\"-4\" class=\"lim998\"/><text x=\"230\" y=\"0\">99.8%</text>"
        o += "<circle cx=\"278\" cy=\"-4\" r=\"4\" class=\"pt\"/><text x=\"286\" y=\"0\">centre</text>"
        o += "<circle cx=\"336\" cy=\"-4\" r=\"5\" class=\"pt worse\"/><text x=\"344\" y=\"0\">outside 95%</text>"
        o += "<rect x=\"420\" y=\"-9\" width=\"10\" height=\"10\" class=\"pt worse\"/><text x=\"434\" y=\"0\">outside 99.8%</text>"
        o += "</g>\n</svg>\n"
        return o
    }

    static func forestSVG(_ a: Accreditation) -> String {
        var rows = a.centres.compactMap { c in c.baseline.map { (c.centre, $0) } }
        if let ob = a.overallBaseline { rows.append(("All centres", ob)) }
        let target = a.standard.targetReduction
        let rowH = 22.0, top = 28.0, bottom = 40.0, left = 110.0, right = 24.0, W = chartW
        let H = top + bottom + rowH * Double(max(rows.count, 1))
        var xs: [Double] = [0, target]
        for (_, b) in rows { xs += [b.reductionLo, b.reductionHi, b.reduction].compactMap { $0 } }
        var lo = xs.min()!, hi = xs.max()!
        let pad = (hi - lo) * 0.06 + 0.01
        lo -= pad; hi += pad
        let (ticks, step) = niceTicks(lo, hi, count: 7)
        lo = min(lo, ticks.first ?? lo); hi = max(hi, ticks.last ?? hi)
        let pw = W - left - right
        func X(_ v: Double) -> Double { left + (v - lo) / (hi - lo) * pw }
        var o =
            "<svg class=\"forest\" role=\"img\" aria-labelledby=\"forest-t forest-d\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" width=\"\(Int(W))\" height=\"\(Int(H))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        o += "<title id=\"forest-t\">Relative reduction in \(esc(label(a.standard.baselineMeasure).lowercased())) per centre, with 95% intervals</title>\n"
        let met = rows.filter { $0.1.verdict == .aimMet }.map(\.0)
        o +=
            "<desc id=\"forest-d\">\(rows.count) rows; aim \(pct(target, digits: 0)) reduction; \(met.isEmpty ? "no centre has met the aim" : "aim met by " + esc(met.joined(separator: ", "))). The same figures are in the table beside the chart.</desc>\n"
        for t in ticks where t >= lo - 1e-12 && t <= hi + 1e-12 {
            o += "<line x1=\"\(f1(X(t)))\" x2=\"\(f1(X(t)))\" y1=\"\(f1(top - 6))\" y2=\"\(f1(H - bottom))\" class=\"grid\"/>"
            o += "<text x=\"\(f1(X(t)))\" y=\"\(f1(H - bottom + 16))\" text-anchor=\"middle\" class=\"axis\">\(pctTick(t, step: step))</text>\n"
        }
        o += "<line x1=\"\(f1(X(0)))\" x2=\"\(f1(X(0)))\" y1=\"\(f1(top - 10))\" y2=\"\(f1(H - bottom))\" class=\"zero\"/>\n"
        o += "<line x1=\"\(f1(X(target)))\" x2=\"\(f1(X(target)))\" y1=\"\(f1(top - 10))\" y2=\"\(f1(H - bottom))\" class=\"threshold\"/>\n"
        o += "<text x=\"\(f1(X(target)))\" y=\"\(f1(top - 14))\" text-anchor=\"middle\" class=\"threshold-label\">aim: \(pct(target, digits: 0)) lower</text>\n"
        o += "<text x=\"\(f1(left + pw / 2))\" y=\"\(f1(H - 8))\" text-anchor=\"middle\" class=\"axis-title\">Relative reduction (right is better)</text>\n"
        for (k, (name, b)) in rows.enumerated() {
            let y = top + rowH * (Double(k) + 0.5)
            o +=
                "<text x=\"\(f1(left - 8))\" y=\"\(f1(y + 4))\" text-anchor=\"end\" class=\"axis\(name == "All centres" ? " strong" : "")\">\(esc(name))</text>"
            if let r = b.reduction, let l = b.reductionLo, let h = b.reductionHi {
                let cls = b.verdict == .aimMet ? "pt better" : (b.verdict == .aimNotMet ? "pt worse" : "pt")
                o += "<line x1=\"\(f1(X(l)))\" x2=\"\(f1(X(h)))\" y1=\"\(f1(y))\" y2=\"\(f1(y))\" class=\"ci\"/>"
                o +=
                    "<circle cx=\"\(f1(X(r)))\" cy=\"\(f1(y))\" r=\"4.5\" class=\"\(cls)\"><title>\(esc(name)): \(pct(r)) (\(pct(l))–\(pct(h))), \(esc(b.verdict.rawValue))</title></circle>\n"
            } else {
                o += "<text x=\"\(f1(left + 4))\" y=\"\(f1(y + 4))\" class=\"axis\">\(esc(b.verdict.rawValue))</text>\n"
            }
        }
        o += "</svg>\n"
        return o
    }

    // MARK: formatting

    enum Symbol {
        static let meets = "✓", fails = "✗", open = "?", suppressed = "–"
    }

    static func verdict(_ v: Verdict) -> String {
        switch v {
        case .meets: "<span class=\"verdict meets\">\(Symbol.meets) meets</span>"
        case .doesNotMeet: "<span class=\"verdict fails\">\(Symbol.fails) does not meet</span>"
        case .notYetConclusive: "<span class=\"verdict open\">\(Symbol.open) not yet conclusive</span>"
        case .suppressed: "<span class=\"verdict muted\">\(Symbol.suppressed) suppressed</span>"
        }
    }

    static func status(_ s: Accreditation.Status) -> String {
        switch s {
        case .accredited: "<span class=\"verdict meets\">\(Symbol.meets) accredited</span>"
        case .notAccredited: "<span class=\"verdict fails\">\(Symbol.fails) not accredited</span>"
        case .notYetDecided: "<span class=\"verdict open\">\(Symbol.open) not yet decided</span>"
        }
    }

    static func rateText(_ j: Judgement) -> String {
        guard let v = j.value else { return j.n == 0 ? "n = 0" : "n = \(int(j.n)) (below minimum)" }
        return "\(pct(v)) (\(interval(j.lo, j.hi))), n = \(int(j.n))"
    }

    static func label(_ measure: String) -> String {
        switch measure {
        case "fcr_rate": "First-contact resolution"
        case "avoidable_rate": "Avoidable contact"
        case "repeat_rate": "Repeat contact"
        case "abandon_rate": "Abandonment"
        case "service_level": "Service level"
        case "transfer_rate": "Transfers"
        default: measure
        }
    }

    static func opText(_ c: Standard.Comparison) -> String {
        switch c {
        case .atLeast: "≥"
        case .atMost: "≤"
        case .above: ">"
        case .below: "<"
        }
    }

    static func pct(_ v: Double?, digits: Int = 1) -> String {
        guard let v, v.isFinite else { return "–" }
        return String(format: "%.\(digits)f%%", v * 100)
    }

    static func interval(_ lo: Double?, _ hi: Double?) -> String {
        guard let lo, let hi else { return "–" }
        return String(format: "%.1f–%.1f%%", lo * 100, hi * 100)
    }

    static func pctTick(_ v: Double, step: Double) -> String {
        let digits = step * 100 >= 1 ? 0 : (step * 100 >= 0.1 ? 1 : 2)
        return String(format: "%.\(digits)f%%", v * 100)
    }

    /// An integer with thousands separators: `12,345`.
    static func int(_ v: Int64) -> String { grouped(String(v.magnitude), negative: v < 0) }

    /// A whole number held as a Double, such as a tick of the volume axis, written as
    /// `int` writes one. A tick can pass `Int64.max` (the axis ends above the largest
    /// volume, and a report's counts may come near it), so it is never made an Int64.
    static func int(_ v: Double) -> String { grouped(String(format: "%.0f", v.magnitude), negative: v < 0) }

    /// `digits` with a comma before each group of three from the right.
    private static func grouped(_ digits: String, negative: Bool) -> String {
        var out = negative ? "-" : ""
        for (k, ch) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }

    static func f1(_ v: Double) -> String { String(format: "%.1f", v) }

    static func niceStep(_ range: Double, count: Int) -> Double {
        let raw = max(range, 1e-9) / Double(max(count, 1))
        let mag = pow(10, floor(log10(raw)))
        for m in [1.0, 2, 2.5, 5, 10] where m * mag >= raw { return m * mag }
        return 10 * mag
    }

    /// Round tick values covering [lo, hi].
    static func niceTicks(_ lo: Double, _ hi: Double, count: Int) -> ([Double], Double) {
        let step = niceStep(hi - lo, count: count)
        var t = floor(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 0.5 && out.count < 50 {
            out.append((t / step).rounded() * step)
            t += step
        }
        return (out, step)
    }

    static func niceCeil(_ v: Double) -> Double {
        let step = niceStep(v, count: 5)
        return ceil(v / step) * step
    }

    /// Text for HTML element content and attribute values.
    static func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.unicodeScalars.append(ch)
            }
        }
        return o
    }

    static let css = """
        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --meets: #116329; --fails: #a40e26; --open: #7d4e00; --accent: #0b5cad; }
        * { box-sizing: border-box; }
        body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; margin: 0 auto; max-width: 1240px; padding: 24px 28px 40px; font-size: 14px; line-height: 1.45; }
        h1 { font-size: 26px; margin: 0 0 6px; }
        h2 { font-size: 20px; margin: 32px 0 8px; padding-top: 8px; border-top: 2px solid var(--ink); }
        h3 { font-size: 16px; margin: 0 0 4px; }
        p { margin: 6px 0 10px; max-width: 78em; }
        .lede { font-size: 15px; color: var(--muted); }
        .counts { list-style: none; padding: 0; margin: 12px 0; display: flex; gap: 24px; flex-wrap: wrap; font-size: 16px; }
        .counts strong { font-size: 22px; }
        nav ol { columns: 2; margin: 4px 0; }
        nav h2 { border: 0; margin-top: 12px; font-size: 16px; }
        table { border-collapse: collapse; font-size: 13px; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; caption-side: top; }
        th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        thead th { border-bottom: 2px solid var(--ink); vertical-align: bottom; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        td.num { white-space: nowrap; }
        .sub { color: var(--muted); font-size: 12px; font-weight: normal; }
        .nowrap { white-space: nowrap; }
        .verdict { font-weight: 600; white-space: nowrap; }
        .meets { color: var(--meets); } .fails { color: var(--fails); } .open { color: var(--open); } .muted { color: var(--muted); }
        .better { color: var(--meets); font-weight: 600; } .worse { color: var(--fails); font-weight: 600; }
        .wide { overflow-x: auto; }
        figure.chart { margin: 18px 0 26px; break-inside: avoid; page-break-inside: avoid; }
        figcaption p { color: var(--muted); }
        .pair { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
        .tablewrap { flex: 1 1 420px; min-width: 0; }
        .cols { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
        table.kv th { font-weight: 600; }
        svg { flex: 0 0 auto; max-width: 100%; height: auto; font-family: inherit; }
        svg .plot { fill: #fbfcfd; stroke: var(--line); }
        svg .grid { stroke: #e6e9ec; stroke-width: 1; }
        svg .axis { font-size: 11px; fill: var(--muted); }
        svg .axis.strong { font-weight: 700; fill: var(--ink); }
        svg .axis-title { font-size: 12px; fill: var(--ink); }
        svg .pooled { stroke: var(--ink); stroke-width: 1.6; }
        svg .lim95 { fill: none; stroke: var(--accent); stroke-width: 1.3; stroke-dasharray: 6 4; }
        svg .lim998 { fill: none; stroke: var(--accent); stroke-width: 1.3; stroke-dasharray: 2 3; }
        svg .threshold { stroke: #8250df; stroke-width: 1.4; stroke-dasharray: 10 3 2 3; }
        svg .threshold-label { font-size: 11px; fill: #6639ba; }
        svg .zero { stroke: var(--ink); stroke-width: 1.2; }
        svg .ci { stroke: var(--ink); stroke-width: 1.6; }
        svg .pt { fill: #ffffff; stroke: #24292f; stroke-width: 1.4; }
        svg .pt.better { fill: var(--meets); stroke: var(--meets); }
        svg .pt.worse { fill: var(--fails); stroke: var(--fails); }
        svg .pt-label { font-size: 11px; font-weight: 600; fill: var(--ink); }
        svg .legend text { font-size: 11px; fill: var(--ink); }
        svg .legend-bg { fill: #ffffff; fill-opacity: 0.85; stroke: var(--line); }
        footer { margin-top: 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
        @media print {
          body { max-width: none; padding: 0; font-size: 9.5pt; }
          nav { display: none; }
          h2 { break-after: avoid; page-break-after: avoid; }
          tr, figure.chart { break-inside: avoid; page-break-inside: avoid; }
          a { color: inherit; text-decoration: none; }
          .wide { overflow: visible; }
        }

        """
}
