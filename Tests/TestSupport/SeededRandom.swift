// The tests' seeded generator is the one production code uses (SeededRandom): every test
// target that imports TestSupport sees SplitMix64 as before.
@_exported public import SeededRandom
