#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, for a program that has its own main (compiler-rt's
// FuzzerInterface.h). SwiftPM links every executable's entry point as `main`
// (`--defsym main=<Module>_main`), which displaces the main libFuzzer would
// otherwise provide, so each fuzz target starts the driver itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*callback)(const uint8_t *data, size_t size));

#endif
