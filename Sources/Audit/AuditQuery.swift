import Foundation
public import JSON
import Platform

/// Answers an operator's questions about the trail without jq: who did what to which secret,
/// when, and what was denied.
///
/// Every filter given must match (they are ANDed):
/// - `since`/`until`: `eventTime` in the range; a time is ISO 8601 (`2026-11-23T10:00:00Z`, an
///   offset such as `+02:00`, optional fractional seconds) and is inclusive; a date
///   (`2026-11-23`, UTC) means from the start of that day (`since`) or through its end (`until`).
/// - `principal`: `userIdentity.arn`, `principalId`, `accessKeyId` or `userName`, or the name after
///   the last `/` of the ARN (`admin` for `arn:aws:iam::123456789012:user/admin`).
/// - `secret`: `requestParameters.secretId` (or `name`, or an entry of `secretIdList`),
///   `responseElements.arn` or `responseElements.name`, exactly; or, of any of those that is a
///   secret ARN, its name part (with or without the six-character suffix AWS appends) or the ARN
///   without that suffix.
/// - `event`: `eventName`, case-insensitively.
/// - `deniedOnly`: `errorCode` is `AccessDeniedException`.
///
/// Reading is file by file and line by line; a line that is not JSON is skipped and counted.
public struct AuditQuery: Sendable {
    private var since: Double?
    private var until: Double?
    private var principal: String?
    private var secret: String?
    private var event: String?
    private var deniedOnly: Bool

    /// - Throws: `.invalidArgument` when `since` or `until` is neither an ISO 8601 time nor a date.
    public init(since: String? = nil, until: String? = nil, principal: String? = nil, secret: String? = nil,
                event: String? = nil, deniedOnly: Bool = false) throws(AuditError) {
        self.since = try since.map { text throws(AuditError) in try Self.bound(text, endOfDay: false) }
        self.until = try until.map { text throws(AuditError) in try Self.bound(text, endOfDay: true) }
        self.principal = principal
        self.secret = secret
        self.event = event?.lowercased()
        self.deniedOnly = deniedOnly
    }

    /// Seconds since 1970 for a bound; a date as `until` is the last instant of that day.
    private static func bound(_ text: String, endOfDay: Bool) throws(AuditError) -> Double {
        if let date = time(text) { return date }
        if text.utf8.count == 10, let day = try? Date.ISO8601FormatStyle().year().month().day().parse(text) {
            let start = day.timeIntervalSince1970
            return endOfDay ? start + 86_400 - 0.000_001 : start
        }
        throw AuditError(.invalidArgument, "'\(text)' is not a time like 2026-11-23T10:00:00Z or a date like 2026-11-23")
    }

    /// Seconds since 1970 of an ISO 8601 date-time (with `Z` or an offset, with or without
    /// fractional seconds), or nil.
    private static func time(_ text: String) -> Double? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date.timeIntervalSince1970 }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date.timeIntervalSince1970 }
        return nil
    }

    /// Whether `record` passes every filter.
    public func matches(_ record: JSONValue) -> Bool {
        if deniedOnly && record["errorCode"]?.stringValue != "AccessDeniedException" { return false }
        if let event, record["eventName"]?.stringValue?.lowercased() != event { return false }
        if since != nil || until != nil {
            guard let text = record["eventTime"]?.stringValue, let time = Self.time(text) else { return false }
            if let since, time < since { return false }
            if let until, time > until { return false }
        }
        if let principal, !Self.principalMatches(principal, record) { return false }
        if let secret, !Self.secretMatches(secret, record) { return false }
        return true
    }

    private static func principalMatches(_ principal: String, _ record: JSONValue) -> Bool {
        guard let identity = record["userIdentity"] else { return false }
        for key in ["arn", "principalId", "accessKeyId", "userName"] where identity[key]?.stringValue == principal {
            return true
        }
        if let arn = identity["arn"]?.stringValue, let slash = arn.lastIndex(of: "/"), arn[arn.index(after: slash)...] == principal {
            return true
        }
        return false
    }

    private static func secretMatches(_ secret: String, _ record: JSONValue) -> Bool {
        var candidates: [String] = []
        if let request = record["requestParameters"] {
            candidates += [request["secretId"]?.stringValue, request["name"]?.stringValue].compactMap { $0 }
            if case .array(let ids)? = request["secretIdList"] { candidates += ids.compactMap(\.stringValue) }
        }
        if let response = record["responseElements"] {
            candidates += [response["arn"]?.stringValue, response["name"]?.stringValue].compactMap { $0 }
        }
        for candidate in candidates {
            if candidate == secret { return true }
            guard candidate.hasPrefix("arn:"), let marker = candidate.firstRange(of: ":secret:") else { continue }
            let name = candidate[marker.upperBound...]
            if name == secret { return true }
            if let stripped = withoutSuffix(name), stripped == secret || candidate.dropLast(7) == secret { return true }
        }
        return false
    }

    /// A secret name without the `-XXXXXX` suffix of its ARN, or nil when it has none.
    private static func withoutSuffix(_ name: Substring) -> Substring? {
        let utf8 = Array(name.utf8)
        guard utf8.count > 7, utf8[utf8.count - 7] == UInt8(ascii: "-"),
              utf8.suffix(6).allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }) else { return nil }
        return name.dropLast(7)
    }

    // MARK: - Running

    /// A record that passed the filters.
    public struct Match: Sendable {
        /// The file's name and the 1-based line number.
        public var file: String
        public var line: Int
        /// The line exactly as stored (JSON, no newline).
        public var text: String
        public var record: JSONValue
        public var row: Row { Row(record) }
    }

    /// What a query read.
    public struct Statistics: Sendable, Equatable {
        public var files = 0
        public var records = 0
        public var matches = 0
        /// Lines that are not JSON (run `strongroom audit verify`).
        public var skippedLines = 0
    }

    /// Calls `body` with each matching record, in trail order.
    /// - Throws: `.io` when the directory or a file cannot be read.
    @discardableResult
    public func run(directory: String, _ body: (Match) -> Void) throws(AuditError) -> Statistics {
        let names: [String]
        do {
            names = try Files.listDirectory(directory)
        } catch {
            throw AuditError.from(error, path: directory, "cannot list the audit directory")
        }
        var statistics = Statistics()
        let files = names.compactMap { name in AuditFormat.fileNumber(name).map { (number: $0, name: name) } }.sorted { $0.number < $1.number }
        for file in files {
            let path = directory + "/" + file.name
            let bytes: [UInt8]
            do {
                bytes = try Files.readContents(of: path, limit: AuditFormat.maximumReadableFileBytes)
            } catch {
                throw AuditError.from(error, path: path, "cannot read the audit file")
            }
            statistics.files += 1
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            _ = lines.popLast()  // empty after the final newline, or a line still being written
            for (index, line) in lines.enumerated() {
                guard let record = try? JSONValue.parse(Array(line)) else {
                    statistics.skippedLines += 1
                    continue
                }
                statistics.records += 1
                guard matches(record) else { continue }
                statistics.matches += 1
                body(Match(file: file.name, line: index + 1, text: String(decoding: line, as: UTF8.self), record: record))
            }
        }
        return statistics
    }

    // MARK: - Output

    /// The columns of the readable output.
    public struct Row: Sendable, Equatable {
        public var time: String
        public var event: String
        public var principal: String
        public var secret: String
        /// "OK", or the errorCode.
        public var outcome: String
        public var requestID: String

        public init(time: String, event: String, principal: String, secret: String, outcome: String, requestID: String) {
            self.time = time
            self.event = event
            self.principal = principal
            self.secret = secret
            self.outcome = outcome
            self.requestID = requestID
        }

        /// The row of a record; "-" for what it lacks.
        public init(_ record: JSONValue) {
            let identity = record["userIdentity"]
            let request = record["requestParameters"]
            let response = record["responseElements"]
            func first(_ values: JSONValue?...) -> String {
                values.lazy.compactMap { $0?.stringValue }.first ?? "-"
            }
            self.init(
                time: first(record["eventTime"]),
                event: first(record["eventName"]),
                principal: first(identity?["arn"], identity?["principalId"], identity?["accessKeyId"]),
                secret: first(response?["name"], request?["secretId"], request?["name"], response?["arn"]),
                outcome: record["errorCode"]?.stringValue ?? "OK",
                requestID: first(record["requestID"]))
        }
    }

    /// A table with a header and aligned columns. Control characters in values (a secret id is
    /// the caller's text) are shown as `?`, so that no record can drive the terminal.
    public static func table(_ rows: [Row]) -> String {
        let header = ["TIME", "EVENT", "PRINCIPAL", "SECRET", "OUTCOME", "REQUEST ID"]
        let cells = [header] + rows.map { [$0.time, $0.event, $0.principal, $0.secret, $0.outcome, $0.requestID].map(printable) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cells {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        return cells.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    private static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "?" : scalar
        }))
    }
}
