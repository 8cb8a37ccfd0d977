import FuzzSupport

// libFuzzer's driver runs `fuzzEnvelope` (also exported as LLVMFuzzerTestOneInput) on each input. A
// closure, not `fuzzEnvelope` itself: the C thunk of a @_cdecl function would take its C name
// and clash with it.
fuzzMain { data, size in fuzzEnvelope(data, size) }
