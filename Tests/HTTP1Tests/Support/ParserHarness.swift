import HTTP1
import Testing
import TestSupport

/// The bytes of `text`, for writing requests as string literals.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Everything a parser produced for one input: the events, then the error if one was thrown.
struct Outcome: Equatable, CustomStringConvertible {
    var events: [HTTPParserEvent] = []
    var error: HTTPParseError?
    /// The largest `bufferedByteCount` seen right before an append.
    var maxBufferedBeforeAppend = 0
    /// Whether next() kept returning events beyond the bound (a hang).
    var exceededCallBound = false

    var requests: [HTTPRequest] {
        events.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    /// The outcome as the split-invariance contract sees it: `.expectContinue` depends on the
    /// split by design, and the bookkeeping fields are not part of the result.
    var comparable: Outcome {
        Outcome(events: events.filter { $0 != .expectContinue }, error: error)
    }

    var description: String {
        let names = events.map { event in
            switch event {
            case .expectContinue: "100-continue"
            case .request(let request): "\(request.method) \(request.target) (\(request.body.count)B)"
            }
        }
        return "\(names) error: \(error.map(String.init(describing:)) ?? "none")"
    }
}

/// How an input is cut into appends.
enum Chunking: Sendable, CustomStringConvertible {
    case whole
    case byteByByte
    case random(seed: UInt64, maxChunk: Int)

    func sizes(for count: Int) -> [Int] {
        switch self {
        case .whole:
            return [count]
        case .byteByByte:
            return Array(repeating: 1, count: count)
        case .random(let seed, let maxChunk):
            var generator = TestRandom(seed: seed)
            var sizes: [Int] = []
            var total = 0
            while total < count {
                let size = Int.random(in: 1...maxChunk, using: &generator)
                sizes.append(size)
                total += size
            }
            return sizes
        }
    }

    var description: String {
        switch self {
        case .whole: "whole"
        case .byteByByte: "byte by byte"
        case .random(let seed, let maxChunk): "random(seed: \(seed), max: \(maxChunk))"
        }
    }
}

/// The shared seeded generator, under a name that does not clash with HTTP1's internal one.
typealias TestRandom = TestSupport.SplitMix64

/// Feeds `input` in the given chunking, draining events after every append, as a server does.
func parse(_ input: [UInt8], limits: HTTPLimits = HTTPLimits(), chunking: Chunking = .whole) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    // Every event but `.expectContinue` consumes at least one byte; `.expectContinue` comes at
    // most once per request. So this many calls without settling means a loop.
    let maxCalls = 2 * input.count + 8
    var calls = 0
    var offset = 0
    for size in chunking.sizes(for: input.count) where offset < input.count {
        outcome.maxBufferedBeforeAppend = max(outcome.maxBufferedBeforeAppend, parser.bufferedByteCount)
        let end = min(input.count, offset + size)
        parser.append(input[offset..<end])
        offset = end
        while true {
            calls += 1
            if calls > maxCalls {
                outcome.exceededCallBound = true
                return outcome
            }
            do throws(HTTPParseError) {
                guard let event = try parser.next() else { break }
                outcome.events.append(event)
            } catch {
                outcome.error = error
                return outcome
            }
        }
    }
    return outcome
}

/// The chunkings every split-invariance check uses: whole, byte by byte, and eight seeded
/// random splits with small and large chunks.
let verifierChunkings: [Chunking] =
    [.whole, .byteByByte]
    + (1...4).map { Chunking.random(seed: $0, maxChunk: 7) }
    + (5...8).map { Chunking.random(seed: $0, maxChunk: 200) }

/// In the spirit of swift-nio's `ByteToMessageDecoderVerifier`: parses `input` in every
/// chunking of ``verifierChunkings``, expects the same events and error from all of them, and
/// returns the outcome of the whole feed.
@discardableResult
func verifySplitInvariance(
    _ input: [UInt8],
    limits: HTTPLimits = HTTPLimits(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> Outcome {
    let reference = parse(input, limits: limits, chunking: .whole)
    for chunking in verifierChunkings {
        let outcome = parse(input, limits: limits, chunking: chunking)
        #expect(!outcome.exceededCallBound, "\(chunking): next() did not settle", sourceLocation: sourceLocation)
        #expect(
            outcome.comparable == reference.comparable,
            "\(chunking) gave \(outcome), whole gave \(reference)",
            sourceLocation: sourceLocation
        )
        // `.expectContinue` may appear only right before a request, never twice in a row.
        for (index, event) in outcome.events.enumerated() where event == .expectContinue {
            let following = index + 1 < outcome.events.count ? outcome.events[index + 1] : nil
            #expect(following != .expectContinue, "\(chunking): 100-continue twice", sourceLocation: sourceLocation)
        }
    }
    return reference
}
