/// Hard limits a ``HTTPRequestParser`` enforces on every request it decodes.
///
/// Every size the parser buffers is bounded by one of these values (or by one of the fixed
/// internal limits documented on ``HTTPRequestParser``), so a connection can never make the
/// parser hold more than roughly `maxHeaderBytes + maxBodyBytes` plus one `append`.
public struct HTTPLimits: Sendable, Equatable {
    /// Largest header section, in bytes: the request line, every header line and the empty
    /// line that ends the section, each with its CRLF. Exceeding it is answered with 431.
    ///
    /// The same budget applies, separately, to the trailer section of a chunked body.
    public var maxHeaderBytes: Int
    /// Longest request line, in bytes, excluding its CRLF. Exceeding it is answered with 414.
    ///
    /// A request line is also bounded by `maxHeaderBytes - 2`; a line that exceeds that smaller
    /// bound is answered with 414 too, so a request line alone never produces 431.
    public var maxRequestLineBytes: Int
    /// Largest number of header fields (and, separately, trailer fields). Exceeding it is
    /// answered with 431.
    public var maxHeaderCount: Int
    /// Largest body, in bytes, after de-chunking. Exceeding it is answered with 413: a declared
    /// `Content-Length` is checked as soon as the headers end, a chunked body whenever a chunk
    /// size line announces a chunk that would exceed it.
    public var maxBodyBytes: Int

    /// Creates limits; the defaults suit an API server whose requests are small JSON documents.
    ///
    /// - Precondition: `maxHeaderBytes >= 3`, `maxRequestLineBytes >= 1`,
    ///   `maxHeaderCount >= 0`, `maxBodyBytes >= 0`.
    public init(
        maxHeaderBytes: Int = 16 * 1024,
        maxRequestLineBytes: Int = 8 * 1024,
        maxHeaderCount: Int = 128,
        maxBodyBytes: Int = 1024 * 1024
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        precondition(self.isValid, "HTTPLimits out of range: \(self)")
    }

    /// Whether the limits are usable; the parser checks this again because the fields are `var`.
    var isValid: Bool {
        maxHeaderBytes >= 3 && maxRequestLineBytes >= 1 && maxHeaderCount >= 0 && maxBodyBytes >= 0
    }

    /// The longest request line the parser accepts: a request line must also fit, with its
    /// CRLF, in the header budget.
    var effectiveRequestLineBytes: Int {
        min(maxRequestLineBytes, maxHeaderBytes - 2)
    }
}
