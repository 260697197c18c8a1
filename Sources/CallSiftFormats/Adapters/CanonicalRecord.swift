import CallSiftCore
/// Fills one canonical record (the keys of docs/metrics.md, "Input records") from an
/// adapter's values and validates it through the run's `EventBuilder`, so that an
/// adapter's events are interned, pseudonymised and checked exactly like CSV and NDJSON
/// ones.
struct CanonicalRecord {
    private var slots = FieldSlots()

    init() {}

    /// Builds one event. `caller` is read on `arrive` only (nil there means absent, which
    /// the builder rejects as `missing_caller`; an adapter passes empty bytes for "no
    /// caller id"); `service` on `arrive` and `transfer`; `outcome` on `end`; `reason` on
    /// any event (docs/metrics.md, "Input records"). The values are read where they lie,
    /// during this call; `ts` as the number it is (`EventBuilder.build(_:ts:kind:)`).
    mutating func build(
        _ builder: EventBuilder, ts: Int64, centre: UnsafeRawBufferPointer, call: UnsafeRawBufferPointer,
        kind: EventKind, caller: UnsafeRawBufferPointer? = nil, service: UnsafeRawBufferPointer? = nil,
        outcome: UnsafeRawBufferPointer? = nil, reason: UnsafeRawBufferPointer? = nil
    ) -> EventBuilder.Built {
        slots.reset()
        slots.point(.centre, at: centre)
        slots.point(.call, at: call)
        if let caller { slots.point(.caller, at: caller) }
        if let service { slots.point(.service, at: service) }
        if let outcome { slots.point(.outcome, at: outcome) }
        if let reason { slots.point(.reason, at: reason) }
        return builder.build(&slots, ts: ts, kind: kind)
    }

    /// The same with `String` values (the rare paths: held events released later).
    mutating func build(
        _ builder: EventBuilder, ts: Int64, centre: String, call: String, kind: EventKind,
        caller: String? = nil, service: String? = nil
    ) -> EventBuilder.Built {
        var centre = centre, call = call
        return centre.withUTF8 { c in
            call.withUTF8 { k in
                withOptionalBytes(caller) { callerBytes in
                    withOptionalBytes(service) { serviceBytes in
                        build(
                            builder, ts: ts, centre: UnsafeRawBufferPointer(c), call: UnsafeRawBufferPointer(k),
                            kind: kind, caller: callerBytes, service: serviceBytes)
                    }
                }
            }
        }
    }
}

/// Calls `body` with the UTF-8 bytes of `s`, or nil.
func withOptionalBytes<R>(_ s: String?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard var s else { return try body(nil) }
    return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
}
