import FuzzDriver
import JSON

// Each input, a JSON document, goes to `JSONFuzz.run`, which traps on a finding.
FuzzDriver.run(JSONFuzz.run)
