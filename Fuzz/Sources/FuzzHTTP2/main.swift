import FuzzSupport

// libFuzzer's driver runs `fuzzHTTP2` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzHTTP2` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzHTTP2(data, size) }
