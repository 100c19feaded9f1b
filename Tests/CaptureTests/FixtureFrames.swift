import Capture
import Testing
import Foundation

/// The frames stored in `Fixtures/three-frames.pcap` and `.pcapng` (see `Fixtures/README.md`).
enum FixtureFrames {
    static let frames: [Frame] = [
        frame(1, captured: 60, original: 60, timestamp: 1_700_000_000_123_456_789),
        frame(2, captured: 98, original: 98, timestamp: 1_700_000_000_123_457_789),
        frame(3, captured: 100, original: 1514, timestamp: 1_700_000_001_000_000_001),
    ]

    /// Byte k of frame i is `(i*31 + k*7) & 0xff`.
    static func frame(_ number: Int, captured: Int, original: Int, timestamp: UInt64) -> Frame {
        let bytes = (0..<captured).map { UInt8(truncatingIfNeeded: number * 31 + $0 * 7) }
        return Frame(number: number, timestampNanoseconds: timestamp, originalLength: original, bytes: bytes)
    }

    /// The path of a fixture file copied into the test bundle.
    static func path(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return url.path
    }
}
