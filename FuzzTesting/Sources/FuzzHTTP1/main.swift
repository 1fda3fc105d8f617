import FuzzDriver
import HTTP1

// Each input, an HTTP/1.1 request stream (its first byte chooses how it is split), goes to `HTTPRequestParserFuzz.run`, which traps on a finding.
FuzzDriver.run(HTTPRequestParserFuzz.run)
