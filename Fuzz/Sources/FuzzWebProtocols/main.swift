import FuzzSupport

// libFuzzer's driver runs `fuzzWebProtocols` (also exported as LLVMFuzzerTestOneInput) on each
// input. A closure, not `fuzzWebProtocols` itself: the C thunk of a @_cdecl function would take
// its C name and clash with it.
fuzzMain { data, size in fuzzWebProtocols(data, size) }
