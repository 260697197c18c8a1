import Testing
@testable import CallSiftCore

/// Parses `text` through the raw-bytes entry point, as the format parsers will.
private func parse(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { Timestamp.parse(UnsafeRawBufferPointer($0)) }
}

@Suite struct TimestampTests {
    // Expected values below were computed with Python's datetime, independently of this code.

    @Test func rfc3339Forms() {
        #expect(parse("2026-03-02T09:15:02Z") == 1_772_442_902_000)
        #expect(parse("2026-03-02t09:15:02z") == 1_772_442_902_000)
        #expect(parse("2026-03-02 09:15:02Z") == 1_772_442_902_000)
        #expect(parse("2026-03-02T09:15:02+00:00") == 1_772_442_902_000)
        #expect(parse("2026-03-02T09:15:02-00:00") == 1_772_442_902_000)
        #expect(parse("1970-01-01T00:00:00Z") == 0)
        #expect(parse("1969-12-31T23:59:59.999Z") == -1)
        #expect(parse("0001-01-01T00:00:00Z") == -62_135_596_800_000)
        #expect(parse("9999-12-31T23:59:59.999Z") == 253_402_300_799_999)
        #expect(parse("1900-03-01T00:00:00Z") == -2_203_891_200_000)
    }

    @Test func offsetsAreSubtracted() {
        // 10:15:02.125 at +01:00 is 09:15:02.125 UTC.
        #expect(parse("2026-03-02T10:15:02.125+01:00") == 1_772_442_902_125)
        #expect(parse("2026-03-02T09:15:02.125+01:00") == 1_772_439_302_125)
        #expect(parse("2024-02-29T23:59:59.999-05:30") == 1_709_270_999_999)
        #expect(parse("2000-02-29T12:00:00+23:59") == 951_739_260_000)
        // The same instant, three spellings.
        let utc = parse("2026-06-30T23:30:00Z")
        #expect(utc != nil)
        #expect(parse("2026-07-01T05:00:00+05:30") == utc)
        #expect(parse("2026-06-30T19:30:00-04:00") == utc)
    }

    @Test func fractionIsTruncatedToMilliseconds() {
        let base: Int64 = 1_772_442_902_000
        #expect(parse("2026-03-02T09:15:02.1Z") == base + 100)
        #expect(parse("2026-03-02T09:15:02.12Z") == base + 120)
        #expect(parse("2026-03-02T09:15:02.125Z") == base + 125)
        #expect(parse("2026-03-02T09:15:02.1259Z") == base + 125)
        #expect(parse("2026-03-02T09:15:02.999999999Z") == base + 999)
        #expect(parse("2026-03-02T09:15:02.000000001Z") == base)
        #expect(parse("2026-03-02T09:15:02.0Z") == base)
        #expect(parse("2026-03-02T09:15:02.12345678901234567890123+00:00") == base + 123)
        // Before 1970 truncation still floors: the fraction is part of a positive local time.
        #expect(parse("1969-12-31T23:59:59.9999Z") == -1)
    }

    @Test func leapYears() {
        #expect(parse("2024-02-29T00:00:00Z") != nil)
        #expect(parse("2000-02-29T00:00:00Z") != nil)
        #expect(parse("1900-02-29T00:00:00Z") == nil)
        #expect(parse("2026-02-29T00:00:00Z") == nil)
        #expect(parse("2026-02-28T00:00:00Z") != nil)
    }

    @Test func epochMilliseconds() {
        #expect(parse("0") == 0)
        #expect(parse("-0") == 0)
        #expect(parse("1772442902125") == 1_772_442_902_125)
        #expect(parse("-1") == -1)
        #expect(parse("000123") == 123)
        #expect(parse("999999999999999999") == 999_999_999_999_999_999)
        #expect(parse("-999999999999999999") == -999_999_999_999_999_999)
    }

    @Test(arguments: [
        "", " ", "-", "+1", "1 ", " 1", "1.5", "1e3", "12a", "--1",
        "1234567890123456789",  // 19 digits
        "-1234567890123456789",
        "2026-03-02T09:15:02",  // no offset
        "2026-03-02T09:15:02Z ",  // trailing space
        " 2026-03-02T09:15:02Z",
        "2026-03-02T09:15:02.Z",  // empty fraction
        "2026-03-02T09:15:02,5Z",
        "2026-03-02T09:15Z",
        "2026-03-02",
        "2026-03-02X09:15:02Z",
        "2026-03-02  09:15:02Z",
        "2026/03/02T09:15:02Z",
        "26-03-02T09:15:02Z",
        "2026-3-02T09:15:02.000Z",
        "2026-00-02T09:15:02Z",
        "2026-13-02T09:15:02Z",
        "2026-03-00T09:15:02Z",
        "2026-03-32T09:15:02Z",
        "2026-04-31T09:15:02Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T09:60:02Z",
        "2026-03-02T09:15:60Z",  // no leap seconds
        "2026-03-02T09:15:02+24:00",
        "2026-03-02T09:15:02+01:60",
        "2026-03-02T09:15:02+0100",
        "2026-03-02T09:15:02+01",
        "2026-03-02T09:15:02+01:00Z",
        "2026-03-02T09:15:02ZZ",
        "2026-03-02T09:15:02UTC",
        "2026-03-02T09:15:02.12a+01:00",
        "-2026-03-02T09:15:02Z",
        "2026-03-02T09:15:02.125+01:0",
        "2026-03-02T09:15:02.125+01:000",
    ])
    func rejects(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func emptyBufferWithoutBaseAddress() {
        #expect(Timestamp.parse(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }

    @Test func format() {
        #expect(Timestamp.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millis: 1_772_442_902_125) == "2026-03-02T09:15:02.125Z")
        #expect(Timestamp.format(millis: 1_772_442_902_000) == "2026-03-02T09:15:02.000Z")
        #expect(Timestamp.format(millis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(millis: -86_400_000) == "1969-12-31T00:00:00.000Z")
        #expect(Timestamp.format(millis: -62_135_596_800_000) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        // Extremes do not trap.
        _ = Timestamp.format(millis: .min)
        _ = Timestamp.format(millis: .max)
    }

    @Test func formatParseRoundTrips() {
        // Every 7 h 13 min 17.123 s from 1600 to 2400, both directions.
        var t: Int64 = -11_676_096_000_000
        while t < 13_569_465_600_000 {
            let text = Timestamp.format(millis: t)
            #expect(parse(text) == t, "\(t) → \(text)")
            t += 25_997_123 * 7
        }
        // Offsets and alternative spellings format back to canonical UTC.
        #expect(
            parse("2026-03-02T10:15:02.1259+01:00").map(Timestamp.format(millis:))
                == "2026-03-02T09:15:02.125Z")
        #expect(parse("1772442902125").map(Timestamp.format(millis:)) == "2026-03-02T09:15:02.125Z")
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` and `…SS.mmmZ` are read eight bytes at a time
    /// (`Timestamp.timeOfDayUTC`); the same instant written with `+00:00` goes through the
    /// general path. Every byte of the time of day replaced by digits, separators, letters
    /// and bytes on either side of the digits' range: both forms agree, value or nil.
    @Test func theWordAtATimePathAgreesWithTheGeneralOne() {
        let replacements: [UInt8] = Array("0123456789:.T t/;Zz-+".utf8) + [0x00, 0x2F, 0x3A, 0x3F, 0x40, 0x7F, 0x80, 0xB0, 0xFF]
        var compared = 0, values = 0
        for base in ["2026-03-02T09:15:02Z", "2026-03-02T23:59:59.999Z", "2024-02-29 00:00:00.000z", "1970-01-01t12:34:56.789Z"] {
            let bytes = Array(base.utf8)
            for at in 10..<(bytes.count - 1) {
                for r in replacements {
                    var z = bytes
                    z[at] = r
                    var offset = z
                    offset.removeLast()
                    offset += Array("+00:00".utf8)
                    let a = z.withUnsafeBytes { Timestamp.parse($0) }
                    let b = offset.withUnsafeBytes { Timestamp.parse($0) }
                    #expect(a == b, "\(String(decoding: z, as: UTF8.self))")
                    compared += 1
                    if a != nil { values += 1 }
                }
            }
        }
        #expect(compared > 1000 && values > 50)
        #expect(parse("2026-03-02T09:15:02.125Z").map(Timestamp.format(millis:)) == "2026-03-02T09:15:02.125Z")
        #expect(parse("2026-03-02T24:00:00Z") == nil && parse("2026-03-02T09:60:00.000Z") == nil)
    }
}
