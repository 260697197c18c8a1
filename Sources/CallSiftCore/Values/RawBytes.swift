/// Bytes in raw memory, read one at a time by index.
///
/// Decoded input (a zstd ring, a read buffer, an lz4 or gzip chunk) is raw memory, bound to
/// no Swift type, so viewing it through an `UnsafePointer<UInt8>` would be undefined
/// behaviour. A raw load of a `UInt8` is always allowed, and compiles to the same single
/// load, so the scanners index through this instead.
@usableFromInline
package struct RawBytes {
    @usableFromInline let base: UnsafeRawPointer

    @inlinable package init(_ base: UnsafeRawPointer) { self.base = base }

    @inlinable package subscript(i: Int) -> UInt8 {
        @inline(__always) get { base.load(fromByteOffset: i, as: UInt8.self) }
    }
}
