import CallSiftCore
import CallSiftInput
// The shape of the synthetic traffic: centres, their services, callers, the daily and
// weekly rhythm of arrivals, and how many calls each centre takes on each day.

/// A line of business, with how long its calls take and why people call it.
struct ServiceProfile {
    let name: [UInt8]
    /// Mean handle time in seconds.
    let meanHandleSeconds: Double
    /// Indices into `WorkloadModel.reasonCodes` of this service's everyday reasons.
    let reasons: [UInt8]
}

/// Everything about the traffic that is fixed once the options are known.
struct WorkloadModel {
    // MARK: Catalogues

    /// Reason codes; index 0 means "no reason". The first three are the reserved codes of
    /// docs/metrics.md, "Classes and FCR".
    static let reasonCodes: [[UInt8]] = [
        "", "progress_chase", "clarification", "misdirected",
        "address_change", "payment", "new_claim", "change_of_circumstances", "repair",
        "rent_arrears", "permit", "pcn_appeal", "discount", "renewal", "new_licence",
        "missed_collection", "bulky_waste", "planning_query", "birth_registration",
        "complaint", "general_enquiry",
    ].map { Array($0.utf8) }
    static let reasonProgressChase: UInt8 = 1
    static let reasonClarification: UInt8 = 2
    static let reasonMisdirected: UInt8 = 3

    /// The first six are the common ones; with `--services-per-centre` ≤ 6 only they occur.
    static let serviceCatalogue: [ServiceProfile] = [
        ServiceProfile(name: Array("benefits".utf8), meanHandleSeconds: 540, reasons: [6, 7, 5, 20]),
        ServiceProfile(name: Array("tax".utf8), meanHandleSeconds: 420, reasons: [5, 4, 20]),
        ServiceProfile(name: Array("housing".utf8), meanHandleSeconds: 360, reasons: [8, 9, 4, 19]),
        ServiceProfile(name: Array("parking".utf8), meanHandleSeconds: 240, reasons: [10, 11, 5]),
        ServiceProfile(name: Array("council_tax".utf8), meanHandleSeconds: 300, reasons: [5, 4, 12, 9]),
        ServiceProfile(name: Array("licensing".utf8), meanHandleSeconds: 360, reasons: [14, 13, 20]),
        ServiceProfile(name: Array("waste".utf8), meanHandleSeconds: 180, reasons: [15, 16, 19]),
        ServiceProfile(name: Array("planning".utf8), meanHandleSeconds: 480, reasons: [17, 19]),
        ServiceProfile(name: Array("registrars".utf8), meanHandleSeconds: 300, reasons: [18, 20]),
        ServiceProfile(name: Array("blue_badge".utf8), meanHandleSeconds: 420, reasons: [6, 13, 4]),
        ServiceProfile(name: Array("school_admissions".utf8), meanHandleSeconds: 360, reasons: [6, 4, 20]),
        ServiceProfile(name: Array("pensions".utf8), meanHandleSeconds: 600, reasons: [5, 7, 4]),
    ]

    /// Relative arrivals per UTC hour on a weekday: a mid-morning peak, a lunchtime dip,
    /// an early-afternoon peak, and a thin night.
    static let weekdayHours: [Double] = [
        0.25, 0.15, 0.10, 0.08, 0.08, 0.15, 0.40, 1.50, 5.00, 9.00, 10.0, 9.00,
        6.50, 7.50, 8.00, 7.00, 5.50, 3.50, 2.00, 1.40, 1.00, 0.80, 0.60, 0.40,
    ]
    /// Saturdays and Sundays: later start, flatter, morning-heavy.
    static let weekendHours: [Double] = [
        0.30, 0.20, 0.12, 0.10, 0.10, 0.15, 0.30, 0.80, 2.50, 5.00, 6.00, 6.00,
        5.00, 4.00, 3.50, 3.00, 2.50, 2.00, 1.50, 1.20, 1.00, 0.80, 0.60, 0.40,
    ]
    /// Relative volume of each weekday, Monday first (Mondays are busiest).
    static let dayWeights: [Double] = [1.15, 1.05, 1.0, 1.0, 0.9, 0.45, 0.3]

    /// How unidentified callers are spelt, by `GeneratedEvent.caller` value 1…5.
    static let unidentifiedSpellings: [[UInt8]] = [
        "", "withheld", "anonymous", "Private", "", "Unavailable",
    ].map { Array($0.utf8) }

    // MARK: Per-run facts

    let options: GeneratorOptions
    let centreNames: [[UInt8]]
    /// Indices into `serviceCatalogue` of each centre's services, most popular first.
    let centreServices: [[UInt8]]
    /// Cumulative popularity of each centre's services.
    let centreServiceWeights: [[Double]]
    /// Multiplies queue waits: some centres are better staffed than others.
    let centreWaitFactor: [Double]
    /// Share of a centre's lines written as epoch milliseconds and with `+01:00`: each
    /// centre's telephony platform has its habits.
    let centreEpochShare: [Double]
    let centreOffsetShare: [Double]
    /// Callers: one population of people numbered `0..<population`; centre c draws from
    /// a window starting at `centreCallerBase[c]`, and neighbouring windows overlap, so
    /// some people call more than one organisation.
    let population: UInt64
    let centreCallerBase: [UInt64]
    let centreCallerWidth: UInt64
    /// Calls of (day, centre), row-major by day; sums to `options.calls` exactly.
    let quotas: [Int]
    let weekdayCumulative: [Double]
    let weekendCumulative: [Double]
    /// Queue pressure per hour, 0…1, weekday and weekend.
    let weekdayLoad: [Double]
    let weekendLoad: [Double]
    /// Multiplies digits of phone numbers: a bijection on 0..<10^9 chosen by the seed.
    let numberMultiplier: UInt64
    let numberOffset: UInt64

    init(options: GeneratorOptions) {
        self.options = options
        var setup = Xoshiro256StarStar(seed: options.seed, stream: 1)
        let centres = options.centres

        centreNames = (0..<centres).map { c in
            let n = c + 1
            return Array((n < 10 ? "C0\(n)" : "C\(n)").utf8)
        }

        // Centre c rotates through the six common services two at a time, so neighbours
        // share some (service scope differs from centre scope), then takes the rarer ones.
        var services: [[UInt8]] = []
        var serviceWeights: [[Double]] = []
        for c in 0..<centres {
            var list: [UInt8] = []
            for k in 0..<min(options.servicesPerCentre, 6) { list.append(UInt8((c * 2 + k) % 6)) }
            if options.servicesPerCentre > 6 {
                for k in 6..<options.servicesPerCentre { list.append(UInt8(k)) }
            }
            services.append(list)
            var total = 0.0
            serviceWeights.append(
                list.indices.map { k in
                    total += 1.0 / Double(k + 1)
                    return total
                })
        }
        centreServices = services
        centreServiceWeights = serviceWeights

        var sizes: [Double] = []
        var waits: [Double] = []
        var epoch: [Double] = []
        var offset: [Double] = []
        for _ in 0..<centres {
            sizes.append(setup.uniform(0.5, 1.5))
            waits.append(setup.uniform(0.6, 1.6))
            // Most platforms write RFC 3339 UTC; about one centre in four mostly epoch ms.
            epoch.append(setup.chance(0.25) ? setup.uniform(0.4, 0.8) : setup.uniform(0.0, 0.04))
            offset.append(setup.uniform(0.02, 0.12))
        }
        centreWaitFactor = waits
        centreEpochShare = epoch
        centreOffsetShare = offset

        // Two people per call: chance meetings of the same person stay a minority of
        // repeats, most of which come from the redials, chases and repeats layered on top;
        // a few frequent callers call many times.
        population = UInt64(max(64, options.calls * 2))
        let share = population / UInt64(centres)
        centreCallerBase = (0..<centres).map { UInt64($0) * share }
        centreCallerWidth = max(16, share + share / 4)

        // Quotas by largest remainder over (day, centre) cells: exact total, deterministic.
        var weights: [Double] = []
        for d in 0..<options.days {
            let dw = WorkloadModel.dayWeights[CivilDate.weekday(days: options.startDay + Int64(d))]
            for c in 0..<centres { weights.append(dw * sizes[c]) }
        }
        let totalWeight = weights.reduce(0, +)
        var cells = [Int](repeating: 0, count: weights.count)
        var remainders: [(fraction: Double, index: Int)] = []
        var assigned = 0
        for (i, w) in weights.enumerated() {
            let exact = Double(options.calls) * w / totalWeight
            let whole = Int(exact)
            cells[i] = whole
            assigned += whole
            remainders.append((exact - Double(whole), i))
        }
        remainders.sort { $0.fraction != $1.fraction ? $0.fraction > $1.fraction : $0.index < $1.index }
        var k = 0
        while assigned < options.calls {
            cells[remainders[k % remainders.count].index] += 1
            assigned += 1
            k += 1
        }
        quotas = cells

        func cumulative(_ w: [Double]) -> [Double] {
            var total = 0.0
            return w.map {
                total += $0; return total
            }
        }
        weekdayCumulative = cumulative(WorkloadModel.weekdayHours)
        weekendCumulative = cumulative(WorkloadModel.weekendHours)
        let peak = WorkloadModel.weekdayHours.max()!
        weekdayLoad = WorkloadModel.weekdayHours.map { $0 / peak }
        // Weekend rotas are thinner, so queues are nearly as busy at the weekend peak.
        let weekendPeak = WorkloadModel.weekendHours.max()!
        weekendLoad = WorkloadModel.weekendHours.map { 0.85 * $0 / weekendPeak }

        // Any multiplier coprime to 10 is a bijection modulo 10^9.
        var m = setup.below(1_000_000_000) | 1
        while m % 5 == 0 { m += 2 }
        numberMultiplier = m
        numberOffset = setup.below(1_000_000_000)
    }

    static func isWeekend(day: Int64) -> Bool { CivilDate.weekday(days: day) >= 5 }

    /// A time of day (ms) drawn from the day's arrival profile.
    @inline(__always)
    func sampleTimeOfDay(weekend: Bool, rng: inout Xoshiro256StarStar) -> Int64 {
        let hour = rng.pick(cumulative: weekend ? weekendCumulative : weekdayCumulative)
        return Int64(hour) * 3_600_000 + rng.int(0, 3_600_000)
    }

    /// Queue pressure (0…1) at a UTC instant.
    @inline(__always)
    func load(at millis: Int64) -> Double {
        let (day, ms) = CivilDate.split(millis: millis)
        let hour = Int(ms / 3_600_000)
        return WorkloadModel.isWeekend(day: day) ? weekendLoad[hour] : weekdayLoad[hour]
    }

    /// A person who calls centre `c` out of the blue: now and then one of the centre's
    /// frequent callers, usually anyone in its catchment.
    @inline(__always)
    func samplePerson(centre c: Int, rng: inout Xoshiro256StarStar) -> UInt32 {
        let offset: UInt64
        if rng.chance(0.08) {
            offset = rng.below(max(1, centreCallerWidth / 100))
        } else {
            offset = rng.below(centreCallerWidth)
        }
        return UInt32((centreCallerBase[c] + offset) % population)
    }

    /// An arrival service of centre `c`.
    @inline(__always)
    func sampleService(centre c: Int, rng: inout Xoshiro256StarStar) -> UInt8 {
        centreServices[c][rng.pick(cumulative: centreServiceWeights[c])]
    }

    /// A service other than `service`, preferring the centre's own.
    func otherService(than service: UInt8, centre c: Int, rng: inout Xoshiro256StarStar) -> UInt8 {
        let own = centreServices[c].filter { $0 != service }
        if !own.isEmpty { return own[rng.index(own.count)] }
        let common = (0..<UInt8(6)).filter { $0 != service }
        return common[rng.index(common.count)]
    }

    /// The caller identifier of a person: mostly UK mobile numbers, some landlines, some
    /// in international form, some customer references. One person, one spelling.
    @inline(__always)
    func appendCaller(person: UInt32, to out: inout [UInt8]) {
        let digits = (UInt64(person) &* numberMultiplier &+ numberOffset) % 1_000_000_000
        let style = SplitMix64.mix(UInt64(person) ^ numberOffset) % 100
        switch style {
        case 0..<68:
            out.append(0x30); out.append(0x37)  // 07…
            TimestampBytes.appendDigits(Int64(digits), width: 9, to: &out)
        case 68..<84:
            out.append(0x30); out.append(digits % 2 == 0 ? 0x31 : 0x32)  // 01… / 02…
            TimestampBytes.appendDigits(Int64(digits), width: 9, to: &out)
        case 84..<92:
            out.append(contentsOf: [0x2B, 0x34, 0x34, 0x37])  // +447…
            TimestampBytes.appendDigits(Int64(digits), width: 9, to: &out)
        default:
            out.append(contentsOf: [0x43, 0x52, 0x4E, 0x2D])  // CRN-
            TimestampBytes.appendDigits(Int64(digits), width: 9, to: &out)
        }
    }
}
