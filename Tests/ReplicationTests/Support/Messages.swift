import Checksum
@testable import Replication
import TestSupport

/// One of every message, with edge values: empty and non-ASCII strings, nil and extreme
/// positions, empty and binary payloads.
let sampleMessages: [ReplicationMessage] = [
    .hello(Hello(nodeId: "eu-west-1-a", region: "eu-west-1", sourceRegion: "us-east-1", position: nil)),
    .hello(Hello(nodeId: "n", region: "ré", sourceRegion: "日本", position: LogPosition(epoch: .max, lsn: .max),
                 notices: [0, 0xFF, 7])),
    .hello(Hello(nodeId: "", region: "", sourceRegion: "", position: .start)),
    .welcome(Welcome(nodeId: "us-east-1-a", region: "us-east-1", mode: .stream, sourcePosition: LogPosition(epoch: 2, lsn: 99))),
    .welcome(Welcome(nodeId: "🔐", region: "", mode: .snapshot, sourcePosition: .start)),
    .refused(""),
    .refused("certificate names another node"),
    .records(RecordBatch(records: [])),
    .records(RecordBatch(records: [
        ShippedRecord(position: LogPosition(epoch: 1, lsn: 1), payload: []),
        ShippedRecord(position: LogPosition(epoch: 1, lsn: 5), payload: Array("fact".utf8)),
        ShippedRecord(position: LogPosition(epoch: 3, lsn: .max), payload: (0..<300).map { UInt8($0 & 0xFF) }),
    ])),
    .snapshot(SnapshotPart(position: LogPosition(epoch: 4, lsn: 1000), index: 0, isLast: false, payload: [1, 2, 3])),
    .snapshot(SnapshotPart(position: .start, index: .max, isLast: true, payload: [])),
    .ack(Ack(position: LogPosition(epoch: 4, lsn: 1000))),
    .ack(Ack(position: .start, notices: Array("notice".utf8))),
    .heartbeat(Heartbeat(position: LogPosition(epoch: 9, lsn: 12), sentAtMillis: 1_700_000_000_000)),
    .heartbeat(Heartbeat(position: .start, sentAtMillis: .min)),
    .heartbeat(Heartbeat(position: .start, sentAtMillis: -1)),
]

/// Random messages for property tests, from a seeded generator so a failure replays.
struct MessageGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func uint64() -> UInt64 {
        // Edges often: they are where encodings break.
        switch int(0...5) {
        case 0: 0
        case 1: 1
        case 2: .max
        case 3: UInt64(int(0...1000))
        default: random.next()
        }
    }

    mutating func position() -> LogPosition { LogPosition(epoch: uint64(), lsn: uint64()) }

    mutating func bytes(maximum: Int = 64) -> [UInt8] {
        (0..<int(0...maximum)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    mutating func string() -> String {
        let pieces = ["a", "Z", "-", "0", "é", "ß", "日", "本", "🔐", "\u{0}", "\u{301}", " ", "/"]
        return (0..<int(0...12)).map { _ in pieces[int(0...(pieces.count - 1))] }.joined()
    }

    mutating func records() -> [ShippedRecord] {
        var records: [ShippedRecord] = []
        var epoch = UInt64(int(0...3))
        var lsn = UInt64(int(0...10))
        for _ in 0..<int(0...8) {
            lsn += UInt64(int(1...3))
            epoch += UInt64(int(0...1))
            records.append(ShippedRecord(position: LogPosition(epoch: epoch, lsn: lsn), payload: bytes()))
        }
        return records
    }

    mutating func message() -> ReplicationMessage {
        switch int(0...6) {
        case 0:
            .hello(Hello(nodeId: string(), region: string(), sourceRegion: string(),
                         position: int(0...2) == 0 ? nil : position(), notices: bytes()))
        case 1:
            .welcome(Welcome(nodeId: string(), region: string(), mode: int(0...1) == 0 ? .stream : .snapshot,
                             sourcePosition: position()))
        case 2: .refused(string())
        case 3: .records(RecordBatch(records: records()))
        case 4:
            .snapshot(SnapshotPart(position: position(), index: UInt32(truncatingIfNeeded: uint64()),
                                   isLast: int(0...1) == 0, payload: bytes(maximum: 200)))
        case 5: .ack(Ack(position: position(), notices: bytes()))
        default: .heartbeat(Heartbeat(position: position(), sentAtMillis: Int64(bitPattern: uint64())))
        }
    }
}

/// A frame with the given header fields and payload and a correct checksum: for building
/// hostile frames that pass the checksum and must fail on shape.
func rawFrame(type: UInt8, flags: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
    let body = [type, flags] + payload
    return ReplicationProtocol.magic + bigEndian(UInt32(body.count)) + bigEndian(CRC32C.checksum(body)) + body
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// A u32-length-prefixed field.
func field(_ bytes: [UInt8]) -> [UInt8] { bigEndian(UInt32(bytes.count)) + bytes }

func field(_ text: String) -> [UInt8] { field(Array(text.utf8)) }

/// All messages `bytes` decode to when fed at once, and the error if any.
func decodeAll(_ bytes: [UInt8], maximumFrameBytes: Int = ReplicationProtocol.maximumFrameBytes)
    -> (messages: [ReplicationMessage], error: FrameError?) {
    let outcome = ReplicationFuzz.decode(bytes, chunkSize: max(1, bytes.count), maximumFrameBytes: maximumFrameBytes)
    return (outcome.messages, outcome.error)
}

/// The error `bytes` give as one frame (nil when they decode or need more bytes).
func frameError(_ bytes: [UInt8]) -> FrameError? { decodeAll(bytes).error }
