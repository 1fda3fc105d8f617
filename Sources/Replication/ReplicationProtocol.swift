internal import Checksum

/// The replication wire format. Every frame, big-endian:
///
///     "SRPL" | u32 length | u32 crc32c | u8 type | u8 flags | payload
///
/// `length` counts the bytes after the checksum (type, flags, payload); the CRC32C covers the
/// same bytes. Flags are reserved and must be 0 (a future field such as a fencing token sets a
/// flag and an old peer refuses it rather than misreading it). Payload fields: integers
/// big-endian; strings u32 length + UTF-8 (validated); byte strings u32 length + bytes; a
/// position u64 epoch + u64 LSN; an optional a 0/1 byte then the value. Every payload is
/// consumed exactly: trailing bytes are an error.
///
/// | type | message   | payload                                                                |
/// |------|-----------|------------------------------------------------------------------------|
/// | 1    | hello     | u16 version, node id, region, source region, optional position, notices; version 2: u64 highest epoch heard of, history |
/// | 2    | welcome   | node id, region, u8 mode, source position; then, when not empty, the source's epoch history |
/// | 3    | refused   | reason (≤ ``maximumReasonBytes``)                                      |
/// | 4    | records   | u32 count, then per record: position, payload                          |
/// | 5    | snapshot  | position, u32 index, u8 is-last, payload                               |
/// | 6    | ack       | position, notices                                                      |
/// | 7    | heartbeat | position, i64 sent-at milliseconds                                     |
/// | 8    | term      | node id, region, u64 epoch (0: a question; else a fence)               |
/// | 9    | term answer | node id, role, u64 highest epoch before, u64 highest epoch now, log end position |
public enum ReplicationProtocol {
    /// The protocol this module speaks; a hello carries it first so that a later version may
    /// change what follows.
    public static let version: UInt16 = 2
    /// The oldest version still accepted (its hello carries no epochs).
    public static let oldestVersion: UInt16 = 1
    /// The largest frame, header included. Larger lengths are refused as soon as the length
    /// field arrives, before the frame is buffered. A journal record (at most
    /// `Journal.maxPayloadBytes`) always fits one `records` frame.
    public static let maximumFrameBytes = 16 << 20
    /// The bytes of every frame before its payload: magic, length, checksum, type, flags.
    public static let headerBytes = 14
    /// The longest `refused` reason in UTF-8 bytes; ``encode(_:)`` cuts longer ones.
    public static let maximumReasonBytes = 1024

    /// "SRPL".
    static let magic: [UInt8] = [0x53, 0x52, 0x50, 0x4C]
    /// Magic, length and checksum: the bytes before the checksummed range.
    static let prefixBytes = 12
    /// The smallest length: type and flags.
    static let minimumLength = 2

    /// The wire type of each message.
    enum MessageType: UInt8 {
        case hello = 1, welcome, refused, records, snapshot, ack, heartbeat, term, termAnswer
    }

    /// The frame of `message`.
    ///
    /// The caller keeps within ``maximumFrameBytes`` (``RecordBatch/frameByteCount`` and
    /// ``SnapshotPart/maximumPayloadBytes`` say how much fits): a larger frame, or a batch whose
    /// records are not in strictly increasing position or have LSN 0, is a bug and traps.
    public static func encode(_ message: ReplicationMessage) -> [UInt8] {
        var writer = FrameWriter(capacity: estimatedFrameBytes(message))
        for byte in magic { writer.byte(byte) }
        writer.integer(UInt32(0))  // length, filled below
        writer.integer(UInt32(0))  // checksum, filled below
        writer.byte(message.wireType.rawValue)
        writer.byte(0)  // flags
        switch message {
        case .hello(let hello):
            writer.integer(hello.protocolVersion)
            writer.string(hello.nodeId)
            writer.string(hello.region)
            writer.string(hello.sourceRegion)
            if let position = hello.position {
                writer.bool(true)
                writer.position(position)
            } else {
                writer.bool(false)
            }
            writer.blob(hello.notices)
            if hello.protocolVersion >= 2 {
                writer.integer(hello.highestSeen)
                writer.blob(hello.history)
            }
        case .welcome(let welcome):
            writer.string(welcome.nodeId)
            writer.string(welcome.region)
            writer.byte(welcome.mode.rawValue)
            writer.position(welcome.sourcePosition)
            if !welcome.history.isEmpty { writer.blob(welcome.history) }
        case .term(let query):
            writer.string(query.nodeId)
            writer.string(query.region)
            writer.integer(query.epoch)
        case .termAnswer(let answer):
            writer.string(answer.nodeId)
            writer.string(answer.role)
            writer.integer(answer.highestSeenBefore)
            writer.integer(answer.highestSeen)
            writer.position(answer.end)
        case .refused(let reason):
            writer.string(truncatedReason(reason))
        case .records(let batch):
            precondition(batch.records.count <= Int(UInt32.max), "too many records for one frame")
            writer.integer(UInt32(batch.records.count))
            var previous: LogPosition?
            for record in batch.records {
                precondition(record.position.lsn != 0, "a shipped record has LSN 0")
                precondition(previous.map { isInOrder($0, record.position) } ?? true,
                             "records out of order: \(previous ?? .start) then \(record.position)")
                previous = record.position
                writer.position(record.position)
                writer.blob(record.payload)
            }
        case .snapshot(let part):
            writer.position(part.position)
            writer.integer(part.index)
            writer.bool(part.isLast)
            writer.blob(part.payload)
        case .ack(let ack):
            writer.position(ack.position)
            writer.blob(ack.notices)
        case .heartbeat(let heartbeat):
            writer.position(heartbeat.position)
            writer.integer(heartbeat.sentAtMillis)
        }
        let frameBytes = writer.bytes.count
        precondition(frameBytes <= maximumFrameBytes,
                     "a \(message.wireType) frame of \(frameBytes) bytes exceeds the maximum \(maximumFrameBytes)")
        writer.store(UInt32(frameBytes - prefixBytes), at: 4)
        let crc = writer.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[prefixBytes...])) }
        writer.store(crc, at: 8)
        // Pair assertion: what we send decodes back to what we meant.
        assert(decodesBack(writer.bytes, as: message), "a \(message.wireType) frame does not decode back")
        return writer.bytes
    }

    /// Whether `frame` decodes to `message` (a hello of another version: to that refusal).
    private static func decodesBack(_ frame: [UInt8], as message: ReplicationMessage) -> Bool {
        do {
            return try decodeFrame(frame, at: 0, maximumFrameBytes: maximumFrameBytes)
                .map { $0.message == message.canonical && $0.frameBytes == frame.count } ?? false
        } catch {
            if case .hello(let hello) = message { return hello.protocolVersion != version && error.code == .unsupportedVersion }
            return false
        }
    }

    /// Whether `next` may follow `previous` in one batch: strictly later, epoch not going back.
    static func isInOrder(_ previous: LogPosition, _ next: LogPosition) -> Bool {
        next.lsn > previous.lsn && next.epoch >= previous.epoch
    }

    /// `reason` cut to at most ``maximumReasonBytes`` of UTF-8, at a scalar boundary.
    static func truncatedReason(_ reason: String) -> String {
        guard reason.utf8.count > maximumReasonBytes else { return reason }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in reason.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maximumReasonBytes { break }
            kept.append(scalar)
        }
        return String(kept)
    }

    /// An upper bound on the frame size, to reserve once.
    private static func estimatedFrameBytes(_ message: ReplicationMessage) -> Int {
        let body: Int
        switch message {
        case .hello(let hello):
            body = 2 + 12 + hello.nodeId.utf8.count + hello.region.utf8.count + hello.sourceRegion.utf8.count + 17
                + 4 + hello.notices.count + 12 + hello.history.count
        case .welcome(let welcome): body = 8 + welcome.nodeId.utf8.count + welcome.region.utf8.count + 17 + 4 + welcome.history.count
        case .term(let query): body = 16 + query.nodeId.utf8.count + query.region.utf8.count
        case .termAnswer(let answer): body = 40 + answer.nodeId.utf8.count + answer.role.utf8.count
        case .refused(let reason): body = 4 + min(reason.utf8.count, maximumReasonBytes)
        case .records(let batch): return batch.frameByteCount
        case .snapshot(let part): return SnapshotPart.frameOverheadBytes + part.payload.count
        case .ack(let ack): body = 16 + 4 + ack.notices.count
        case .heartbeat: body = 24
        }
        return headerBytes + body
    }

    // MARK: Decoding

    /// The outcome of looking at the start of a buffer.
    struct DecodedFrame {
        var message: ReplicationMessage
        var frameBytes: Int
    }

    /// Decodes the frame at `offset` of `bytes`: nil when the bytes end inside a frame that is
    /// plausible so far. The checks run in byte order (magic, then length, then the whole frame),
    /// so the error for a stream does not depend on how much of it had arrived.
    static func decodeFrame(_ bytes: [UInt8], at offset: Int, maximumFrameBytes: Int) throws(FrameError) -> DecodedFrame? {
        precondition(offset >= 0 && offset <= bytes.count, "offset out of range")
        let available = bytes.count - offset
        guard available >= 4 else { return nil }
        guard bytes[offset] == magic[0], bytes[offset + 1] == magic[1], bytes[offset + 2] == magic[2],
            bytes[offset + 3] == magic[3]
        else {
            throw FrameError(.badMagic, "frame does not start with \"SRPL\"")
        }
        guard available >= 8 else { return nil }
        var header = FrameReader(bytes, range: (offset + 4)..<(offset + 8))
        let length = Int(try header.integer(UInt32.self, "length"))
        guard length >= minimumLength else {
            throw FrameError(.badLength, "frame length \(length) is below the minimum \(minimumLength)")
        }
        guard length <= maximumFrameBytes - prefixBytes else {
            throw FrameError(.tooLarge, "frame of \(prefixBytes + length) bytes exceeds the maximum \(maximumFrameBytes)")
        }
        let frameBytes = prefixBytes + length
        guard available >= frameBytes else { return nil }
        var checksum = FrameReader(bytes, range: (offset + 8)..<(offset + 12))
        let stored = try checksum.integer(UInt32.self, "checksum")
        let computed = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(offset + prefixBytes)..<(offset + frameBytes)]))
        }
        guard stored == computed else {
            throw FrameError(.checksumMismatch, "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        let rawType = bytes[offset + 12]
        let flags = bytes[offset + 13]
        guard flags == 0 else { throw FrameError(.unknownFlags, "unknown flags \(hex(UInt32(flags)))") }
        guard let type = MessageType(rawValue: rawType) else {
            throw FrameError(.unknownType, "unknown message type \(rawType)")
        }
        var reader = FrameReader(bytes, range: (offset + headerBytes)..<(offset + frameBytes))
        let message = try decodePayload(type, &reader)
        try reader.expectEnd("\(type)")
        return DecodedFrame(message: message, frameBytes: frameBytes)
    }

    private static func decodePayload(_ type: MessageType, _ reader: inout FrameReader) throws(FrameError) -> ReplicationMessage {
        switch type {
        case .hello:
            let version = try reader.integer(UInt16.self, "protocol version")
            guard (ReplicationProtocol.oldestVersion...ReplicationProtocol.version).contains(version) else {
                throw FrameError(.unsupportedVersion, "hello of protocol version \(version); this node speaks \(ReplicationProtocol.version)")
            }
            let nodeId = try reader.string("node id")
            let region = try reader.string("region")
            let sourceRegion = try reader.string("source region")
            let position = try reader.bool("position flag") ? try reader.position("position") : nil
            let notices = try reader.blob("notices")
            let highestSeen = version >= 2 ? try reader.integer(UInt64.self, "highest epoch") : 0
            let history = version >= 2 ? try reader.blob("epoch history") : []
            return .hello(Hello(protocolVersion: version, nodeId: nodeId, region: region, sourceRegion: sourceRegion,
                                position: position, notices: notices, highestSeen: highestSeen, history: history))
        case .welcome:
            let nodeId = try reader.string("node id")
            let region = try reader.string("region")
            let rawMode = try reader.byte("mode")
            guard let mode = Welcome.Mode(rawValue: rawMode) else { throw FrameReader.malformed("unknown welcome mode \(rawMode)") }
            let sourcePosition = try reader.position("source position")
            var history: [UInt8] = []
            if reader.remaining > 0 {
                // Written only when not empty: one encoding per welcome.
                history = try reader.blob("epoch history")
                guard !history.isEmpty else { throw FrameReader.malformed("an empty epoch history in a welcome") }
            }
            return .welcome(Welcome(nodeId: nodeId, region: region, mode: mode, sourcePosition: sourcePosition, history: history))
        case .term:
            let nodeId = try reader.string("node id")
            let region = try reader.string("region")
            return .term(TermQuery(nodeId: nodeId, region: region, epoch: try reader.integer(UInt64.self, "epoch")))
        case .termAnswer:
            let nodeId = try reader.string("node id")
            let role = try reader.string("role", limit: 64)
            let before = try reader.integer(UInt64.self, "highest epoch before")
            let now = try reader.integer(UInt64.self, "highest epoch")
            return .termAnswer(TermAnswer(nodeId: nodeId, role: role, highestSeenBefore: before, highestSeen: now,
                                          end: try reader.position("log end")))
        case .refused:
            return .refused(try reader.string("reason", limit: maximumReasonBytes))
        case .records:
            let count = try reader.count("record count", minimumItemBytes: ShippedRecord.encodedOverheadBytes)
            var records: [ShippedRecord] = []
            records.reserveCapacity(count)
            for index in 0..<count {
                let position = try reader.position("record position")
                guard position.lsn != 0 else { throw FrameReader.malformed("record \(index) has LSN 0") }
                if let previous = records.last?.position, !isInOrder(previous, position) {
                    throw FrameReader.malformed("record \(index) at \(position) does not follow \(previous)")
                }
                records.append(ShippedRecord(position: position, payload: try reader.blob("record payload")))
            }
            return .records(RecordBatch(records: records))
        case .snapshot:
            let position = try reader.position("snapshot position")
            let index = try reader.integer(UInt32.self, "part index")
            let isLast = try reader.bool("last-part flag")
            return .snapshot(SnapshotPart(position: position, index: index, isLast: isLast, payload: try reader.blob("snapshot payload")))
        case .ack:
            let position = try reader.position("ack position")
            return .ack(Ack(position: position, notices: try reader.blob("notices")))
        case .heartbeat:
            let position = try reader.position("heartbeat position")
            return .heartbeat(Heartbeat(position: position, sentAtMillis: try reader.integer(Int64.self, "sent-at")))
        }
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

extension ReplicationMessage {
    /// The wire type of this message.
    var wireType: ReplicationProtocol.MessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .refused: .refused
        case .records: .records
        case .snapshot: .snapshot
        case .ack: .ack
        case .heartbeat: .heartbeat
        case .term: .term
        case .termAnswer: .termAnswer
        }
    }

    /// The message as it decodes after encoding: a `refused` reason cut to its limit.
    var canonical: ReplicationMessage {
        if case .refused(let reason) = self { return .refused(ReplicationProtocol.truncatedReason(reason)) }
        return self
    }
}
