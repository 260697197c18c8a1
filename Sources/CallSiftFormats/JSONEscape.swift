import CallSiftCore
/// JSON string escapes (RFC 8259 section 7), shared by every JSON reader in callsift.
enum JSONEscape {
    /// Decodes the escape that starts at `index` (just after the backslash), appending its
    /// UTF-8 bytes through `append` and moving `index` past it. A `\u` high surrogate must
    /// be followed by an escaped low one. Returns false for anything malformed.
    static func decode(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, _ append: (UInt8) -> Void) -> Bool {
        guard index < bytes.count else { return false }
        let c = bytes[index]
        index += 1
        switch c {
        case 0x22, 0x5C, 0x2F: append(c)
        case 0x62: append(0x08)
        case 0x66: append(0x0C)
        case 0x6E: append(0x0A)
        case 0x72: append(0x0D)
        case 0x74: append(0x09)
        case 0x75:
            guard var scalar = hex4(bytes, &index) else { return false }
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { return false }
                index += 2
                guard let low = hex4(bytes, &index), low >= 0xDC00 && low <= 0xDFFF else { return false }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                return false
            }
            guard let u = Unicode.Scalar(scalar) else { return false }
            for b in UTF8.encode(u)! { append(b) }
        default:
            return false
        }
        return true
    }

    private static func hex4(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }
}
