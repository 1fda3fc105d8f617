import Foundation
import HTTP1
import Testing
import TestSupport

/// The Date header's IMF-fixdate, computed without the C library, against Foundation's
/// formatter over random times up to the year 9999.
@Suite struct HTTPDateTests {
    @Test func imfFixdate() {
        #expect(HTTPDate.format(epochSeconds: 784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 951782400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 4133980799) == "Fri, 31 Dec 2100 23:59:59 GMT")
    }

    @Test func agreesWithFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var rng = SplitMix64(seed: 0xDA7E)
        for _ in 0..<5_000 {
            let seconds = Int.random(in: 0...253_402_300_799, using: &rng)
            #expect(HTTPDate.format(epochSeconds: seconds) == formatter.string(from: Date(timeIntervalSince1970: Double(seconds))))
        }
    }
}
