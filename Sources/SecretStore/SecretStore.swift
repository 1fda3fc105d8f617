/// The secrets state machine (commands → facts → state). Pure: no I/O, clocks or randomness.
/// Its contents arrive with the storage issue.
public enum SecretStoreModule {}
