import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput

@Suite struct ByteSinkTests {
    @Test(arguments: Compression.allCases)
    func writesTheFormatsMagic(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("out")
        let sink = try makeByteSink(path: path, compression: compression)
        try sink.write("ts,centre\n")
        try sink.write(Array("1,north\n".utf8))
        try sink.finish()
        let bytes = try InputSamples.bytes(of: path)
        let magic: [UInt8]
        switch compression {
        case .none: magic = Array("ts,c".utf8)
        case .zstd: magic = [0x28, 0xB5, 0x2F, 0xFD]
        case .lz4: magic = [0x04, 0x22, 0x4D, 0x18]
        case .gzip: magic = [0x1F, 0x8B]
        }
        #expect(Array(bytes.prefix(magic.count)) == magic)
        let back = try readAll(path)
        #expect(back.bytes == Array("ts,centre\n1,north\n".utf8))
        #expect(back.error == nil)
    }

    @Test(arguments: Compression.allCases)
    func emptyOutputReadsBackEmpty(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("out")
        try makeByteSink(path: path, compression: compression).finish()
        let back = try readAll(path)
        #expect(back.error == nil)
        #expect(back.chunkCount == 0)
        #expect(back.compression == compression)
    }

    @Test(arguments: compressedFormats, [Int32(0), 1, 9, 99])
    func everyLevelRoundTrips(compression: Compression, level: Int32) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("out")
        try InputSamples.write(InputSamples.small, to: path, as: compression, level: level)
        #expect(try readAll(path).bytes == InputSamples.small)
    }

    @Test(arguments: Compression.allCases)
    func manySmallWritesEqualOneLargeWrite(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let data = InputSamples.text(bytes: 600_000, seed: 7)
        let sink = try makeByteSink(path: dir.path("pieces"), compression: compression)
        try data.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let count = min(37, all.count - offset)
                try sink.write(UnsafeRawBufferPointer(rebasing: all[offset..<offset + count]))
                offset += count
            }
        }
        try sink.finish()
        let whole = try makeByteSink(path: dir.path("whole"), compression: compression)
        try whole.write(data)
        try whole.finish()
        #expect(try readAll(dir.path("pieces")).bytes == data)
        #expect(try readAll(dir.path("whole")).bytes == data)
    }

    @Test func finishTwiceIsHarmless() throws {
        let dir = try ScratchDirectory()
        let sink = try makeByteSink(path: dir.path("out"), compression: .zstd)
        try sink.write("x")
        try sink.finish()
        try sink.finish()
        #expect(try readAll(dir.path("out")).bytes == Array("x".utf8))
    }

    @Test func unwritableDestinationThrows() throws {
        let dir = try ScratchDirectory()
        let path = dir.path("missing-directory/out.zst")
        let error = try #require(throws: ByteSinkError.self) {
            try makeByteSink(path: path, compression: .zstd)
        }
        #expect(error.destination == path)
    }
}
