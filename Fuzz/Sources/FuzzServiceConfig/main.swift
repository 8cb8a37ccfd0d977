import FuzzSupport

// libFuzzer's driver runs `fuzzServiceConfig` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzServiceConfig` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzServiceConfig(data, size) }
