import FuzzSupport

// libFuzzer's driver runs `fuzzDNS` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzDNS` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzDNS(data, size) }
