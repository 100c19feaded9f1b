import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Just enough of PNG (ISO/IEC 15948, the W3C PNG specification) to count a screenshot's colours: the
/// IHDR chunk, the IDAT chunks' zlib stream (inflated by the system's libz, looked up at run time) and
/// the five scanline filters of §9.2. Handles 8-bit greyscale, RGB and RGBA without interlacing, which
/// is what Chromium writes.
struct PNGImage {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let width: Int
    let height: Int
    /// Bytes per pixel.
    let channels: Int
    /// Unfiltered rows, `width * channels` bytes each.
    let pixels: [UInt8]

    init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot be read") }
        let bytes = [UInt8](data)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw Failure(description: "\(path): not a PNG (no signature)") }
        var offset = 8, width = 0, height = 0, colourType = 0, compressed: [UInt8] = []
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length >= 0, start + length + 4 <= bytes.count else { throw Failure(description: "\(path): chunk \(type) runs past the end") }
            let body = bytes[start..<(start + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw Failure(description: "\(path): IHDR of \(length) bytes") }
                width = Int(body[start]) << 24 | Int(body[start + 1]) << 16 | Int(body[start + 2]) << 8 | Int(body[start + 3])
                height = Int(body[start + 4]) << 24 | Int(body[start + 5]) << 16 | Int(body[start + 6]) << 8 | Int(body[start + 7])
                colourType = Int(body[start + 9])
                guard body[start + 8] == 8, body[start + 12] == 0 else {
                    throw Failure(description: "\(path): bit depth \(body[start + 8]) or interlacing \(body[start + 12]) not handled")
                }
            case "IDAT": compressed += body
            default: break
            }
            offset = start + length + 4
            if type == "IEND" { break }
        }
        let channels: Int
        switch colourType {
        case 0: channels = 1
        case 2: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw Failure(description: "\(path): colour type \(colourType) not handled")
        }
        guard width > 0, height > 0, width < 20_000, height < 40_000 else { throw Failure(description: "\(path): \(width)×\(height)") }
        let stride = width * channels
        let raw = try Self.inflate(compressed, expected: (stride + 1) * height)
        guard raw.count == (stride + 1) * height else { throw Failure(description: "\(path): \(raw.count) bytes of scanlines, expected \((stride + 1) * height)") }
        var pixels = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            let source = row * (stride + 1) + 1, target = row * stride
            for column in 0..<stride {
                let x = Int(raw[source + column])
                let a = column >= channels ? Int(pixels[target + column - channels]) : 0
                let b = row > 0 ? Int(pixels[target - stride + column]) : 0
                let c = row > 0 && column >= channels ? Int(pixels[target - stride + column - channels]) : 0
                let value: Int
                switch filter {
                case 0: value = x
                case 1: value = x + a
                case 2: value = x + b
                case 3: value = x + (a + b) / 2
                case 4:
                    // §9.4 Paeth predictor.
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    value = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
                default: throw Failure(description: "\(path): row \(row) has filter type \(filter)")
                }
                pixels[target + column] = UInt8(truncatingIfNeeded: value)
            }
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The pixel at (x, y) as RGB.
    func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let at = (y * width + x) * channels
        return channels >= 3 ? (pixels[at], pixels[at + 1], pixels[at + 2]) : (pixels[at], pixels[at], pixels[at])
    }

    /// How many distinct RGB values the image holds, counting up to `limit`.
    func distinctColours(limit: Int = 1 << 16) -> Int {
        var seen = Set<UInt32>()
        for y in 0..<height {
            for x in 0..<width {
                let (r, g, b) = rgb(x, y)
                seen.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
                if seen.count >= limit { return limit }
            }
        }
        return seen.count
    }

    /// zlib's `uncompress` from libz.so.1 (every Debian system has it: dpkg links it).
    private static func inflate(_ data: [UInt8], expected: Int) throws -> [UInt8] {
        typealias Uncompress = @convention(c) (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt>, UnsafePointer<UInt8>, UInt) -> Int32
        guard let library = dlopen("libz.so.1", RTLD_NOW), let symbol = dlsym(library, "uncompress") else {
            throw Failure(description: "libz.so.1 cannot be loaded to inflate the PNG")
        }
        let uncompress = unsafeBitCast(symbol, to: Uncompress.self)
        var output = [UInt8](repeating: 0, count: expected)
        var length = UInt(expected)
        let status = output.withUnsafeMutableBufferPointer { target in
            data.withUnsafeBufferPointer { source -> Int32 in
                guard let into = target.baseAddress, let from = source.baseAddress else { return -1 }
                return uncompress(into, &length, from, UInt(source.count))
            }
        }
        guard status == 0 else { throw Failure(description: "zlib uncompress returned \(status)") }
        return Array(output.prefix(Int(length)))
    }
}
