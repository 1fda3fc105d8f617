import SeededRandom
/// Fuzz entry point for ``HTTPRequestParser``, for a libFuzzer harness and for replaying the
/// regression corpus in the tests.
///
/// The first byte chooses how the rest is split into appends: 0 feeds it whole, 1 byte by
/// byte, any other value `n` in chunks of 1...n bytes drawn from ``SplitMix64`` seeded with `n`.
/// Small limits are used so that inputs of a few hundred bytes reach every limit.
///
/// Traps (a finding) when: the split feed and a whole feed disagree (ignoring
/// `.expectContinue`, which legitimately depends on the split); `.expectContinue` is not
/// followed by a request; more than a bounded number of events come out; or the parser buffers
/// more than its documented bound.
public enum HTTPRequestParserFuzz {
    /// The limits the fuzz entry point parses with.
    public static let limits = HTTPLimits(
        maxHeaderBytes: 512,
        maxRequestLineBytes: 128,
        maxHeaderCount: 8,
        maxBodyBytes: 1024
    )

    /// Feeds `data[1...]` to a parser in the chunking `data[0]` encodes and drains every event.
    public static func run(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let payload = Array(data.dropFirst())
        let whole = drain(payload, chunkSizes: [payload.count])
        var sizes: [Int] = []
        switch mode {
        case 0:
            sizes = [payload.count]
        case 1:
            sizes = Array(repeating: 1, count: payload.count)
        default:
            var generator = SplitMix64(seed: UInt64(mode))
            var total = 0
            while total < payload.count {
                let size = Int.random(in: 1...Int(mode), using: &generator)
                sizes.append(size)
                total += size
            }
        }
        let split = drain(payload, chunkSizes: sizes)
        precondition(
            whole.withoutContinue == split.withoutContinue,
            "split changed the outcome: \(whole) vs \(split)"
        )
    }

    struct Outcome: Equatable, CustomStringConvertible {
        var events: [HTTPParserEvent] = []
        var error: HTTPParseError?

        var withoutContinue: Outcome {
            Outcome(events: events.filter { $0 != .expectContinue }, error: error)
        }

        var description: String {
            "\(events.count) events, error: \(error.map(String.init(describing:)) ?? "none")"
        }
    }

    static func drain(_ payload: [UInt8], chunkSizes: [Int]) -> Outcome {
        var parser = HTTPRequestParser(limits: limits)
        var outcome = Outcome()
        // Each event consumes at least one byte, except `.expectContinue`, at most one per
        // request; twice the input is a generous bound that still catches a loop.
        let maxCalls = 2 * payload.count + 8
        var calls = 0
        let bound = max(limits.maxHeaderBytes, HTTPRequestParser.maxChunkSizeLineBytes + 1)
        var offset = 0
        for size in chunkSizes where offset < payload.count {
            let end = min(payload.count, offset + size)
            precondition(parser.bufferedByteCount < bound, "parser holds too many bytes")
            parser.append(payload[offset..<end])
            offset = end
            while true {
                calls += 1
                precondition(calls <= maxCalls, "next() did not settle")
                do throws(HTTPParseError) {
                    guard let event = try parser.next() else { break }
                    if outcome.events.last == .expectContinue {
                        precondition(event != .expectContinue, ".expectContinue twice")
                    }
                    outcome.events.append(event)
                } catch {
                    outcome.error = error
                    return outcome
                }
            }
        }
        return outcome
    }
}
