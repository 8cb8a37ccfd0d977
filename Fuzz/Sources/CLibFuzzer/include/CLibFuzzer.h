#ifndef C_LIBFUZZER_H
#define C_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`): parses libFuzzer's flags
/// from the command line and runs `callback` on each input. The fuzz targets call it from
/// their `main.swift`, because SwiftPM links an executable's own entry point as `main`, which
/// keeps libFuzzer's `main` out.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
