import FuzzSupport

// libFuzzer's driver runs `fuzzClientResponse` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzClientResponse` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzClientResponse(data, size) }
