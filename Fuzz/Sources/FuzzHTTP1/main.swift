import FuzzSupport

// libFuzzer's driver runs `fuzzHTTP1` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzHTTP1` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzHTTP1(data, size) }
