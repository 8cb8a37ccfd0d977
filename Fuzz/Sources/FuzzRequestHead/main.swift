import FuzzSupport

// libFuzzer's driver runs `fuzzRequestHead` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzRequestHead` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzRequestHead(data, size) }
