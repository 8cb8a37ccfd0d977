import FuzzSupport

// libFuzzer's driver runs `fuzzServerConnection` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzServerConnection` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzServerConnection(data, size) }
