import Foundation
import Testing
import AWSProtocol
import TestSupport

/// The timestamps SigV4, the audit trail and the condition keys print, written into a buffer:
/// the same text as Foundation's ISO 8601 formatter on random instants from 1970 to 9999.
@Suite struct TimestampFormatTests {
    @Test func basicAndExtendedMatchFoundationsISO8601() {
        let extended = ISO8601DateFormatter()
        extended.timeZone = TimeZone(identifier: "UTC")
        extended.formatOptions = [.withInternetDateTime]
        var random = SplitMix64(seed: 0x7135_7A4D)
        for caseNumber in 0..<3_000 {
            let seconds = Int64(random.next() % 253_402_300_799)  // up to 9999-12-31T23:59:59Z
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let expected = extended.string(from: date)
            #expect(AWSTimestamp.extended(seconds: seconds) == expected, "case \(caseNumber): \(seconds)")
            let basic = expected.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            #expect(AWSTimestamp.basic(date) == basic, "case \(caseNumber): \(seconds)")
            #expect(AWSTimestamp.parseBasic(basic) == date, "case \(caseNumber): \(seconds)")
        }
        #expect(AWSTimestamp.extended(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(AWSTimestamp.basic(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    }
}
