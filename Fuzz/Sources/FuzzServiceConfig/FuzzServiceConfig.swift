// Fuzzes the service-config parsers: the JSON reader (`JSONValue.parse`), the duration
// reader (`ConfigReader.parseDuration`) and `ServiceConfig(json:)`, which read configs that
// come from a resolver (a DNS TXT record, a control plane), not only from code.
//
// Input: JSON text. Checked for every input: no crash, no hang (nesting is bounded); a JSON
// value or a parse error; a value written back as JSON parses to the same value; a service
// config or an INVALID_ARGUMENT error; what a config accepts is sane (durations at least 0,
// 2 to 5 attempts) and usable (the retry delays a policy leads to are between 0 and its
// maximum); and a duration is read only from proto3 JSON's form (`1.5s`).
import FuzzSupport

@testable import GRPCSimple

/// `value` as JSON text.
private func write(_ value: JSONValue, to out: inout String) {
    switch value {
    case .null: out += "null"
    case .bool(let flag): out += flag ? "true" : "false"
    case .number(let text): out += text
    case .string(let text): writeString(text, to: &out)
    case .array(let elements):
        out += "["
        for (index, element) in elements.enumerated() {
            if index > 0 { out += "," }
            write(element, to: &out)
        }
        out += "]"
    case .object(let members):
        out += "{"
        for (index, member) in members.enumerated() {
            if index > 0 { out += "," }
            writeString(member.key, to: &out)
            out += ":"
            write(member.value, to: &out)
        }
        out += "}"
    }
}

private func writeString(_ text: String, to out: inout String) {
    out += "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{00}"..."\u{1F}":
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
}

/// Whether `text` is a duration as proto3 JSON writes one: digits, optionally a point and 1
/// to 9 digits, then `s`.
private func isProtoDuration(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard bytes.last == UInt8(ascii: "s") else { return false }
    let number = bytes.dropLast().split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    guard number.count <= 2, let whole = number.first, !whole.isEmpty, whole.allSatisfy(isDigit) else { return false }
    if number.count == 2 {
        return !number[1].isEmpty && number[1].count <= 9 && number[1].allSatisfy(isDigit)
    }
    return true
}

private func checkDuration(_ text: String) {
    guard let duration = ConfigReader.parseDuration(text) else { return }
    fuzzCheck(duration >= .zero, "duration '\(text)' read as \(duration)")
    fuzzCheck(isProtoDuration(text), "'\(text)' read as a duration (\(duration))")
}

/// A call's retries under `policy`, as the client decides them (`CallAttempts`), with the
/// largest jitter: each delay is at least 0 and at most `maxBackoff`, and becomes a timer.
private func checkRetries(_ policy: RetryPolicy, throttling: RetryThrottling?) {
    let throttle = throttling.map(RetryThrottle.init)
    guard let code = policy.retryableStatusCodes.first else { return }
    for pushback in [nil, "0", "9223372036854775807"] {
        var attempts = CallAttempts(policy: policy, bufferLimit: 1024, random: { 0.999_999 })
        for _ in 0..<policy.maxAttempts {
            let decision = attempts.decide(
                after: Status(code: code, message: "fuzz"), pushback: pushback, throttle: throttle)
            guard case .retry(let delay) = decision else { break }
            fuzzCheck(delay >= .zero, "a retry delay of \(delay)")
            if pushback == nil {
                fuzzCheck(delay <= policy.maxBackoff + .milliseconds(1), "a retry delay of \(delay), past the maximum")
            }
            _ = delay.timeAmount
        }
    }
}

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServiceConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let text = String(decoding: input.rest(), as: UTF8.self)
    checkDuration(text)

    if let value = try? JSONValue.parse(text) {
        var written = ""
        write(value, to: &written)
        let again = try? JSONValue.parse(written)
        fuzzCheck(again == value, "\(value) written as \(written) read back as \(String(describing: again))")
        if case .object(let members) = value {
            for member in members {
                if case .string(let string) = member.value { checkDuration(string) }
            }
        }
    }

    let config: ServiceConfig
    do {
        config = try ServiceConfig(json: text)
    } catch {
        fuzzCheck(error.code == .invalidArgument, "a config failed with \(error.code): \(error)")
        return 0
    }
    for method in config.methodConfigs {
        fuzzCheck(!method.names.isEmpty, "a method config without a name")
        fuzzCheck((method.timeout ?? .zero) >= .zero, "a negative timeout \(method.timeout!)")
        fuzzCheck((method.maxRequestMessageBytes ?? 0) >= 0, "a negative size")
        fuzzCheck((method.maxResponseMessageBytes ?? 0) >= 0, "a negative size")
        if let retry = method.retryPolicy {
            fuzzCheck((2...5).contains(retry.maxAttempts), "\(retry.maxAttempts) attempts")
            fuzzCheck(retry.initialBackoff > .zero && retry.maxBackoff > .zero, "a backoff of 0 or less")
            fuzzCheck(retry.backoffMultiplier > 0, "a multiplier of 0 or less")
            checkRetries(retry, throttling: config.retryThrottling)
        }
        if let hedging = method.hedgingPolicy {
            fuzzCheck(hedging.hedgingDelay >= .zero, "a negative hedging delay")
        }
        _ = config.methodConfig(for: FuzzEchoService.get)
    }
    return 0
}
