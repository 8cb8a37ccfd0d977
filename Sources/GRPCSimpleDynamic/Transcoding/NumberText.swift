/// Numbers in proto3 JSON: how floating-point values are written (shortest form, integers
/// without `.0`, `NaN` and the infinities as strings) and how integers are read (numbers or
/// strings, exponents allowed when the value is whole).
enum NumberText {
    static func json(_ value: Double) -> JSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            return .number(value == 0 && value.sign == .minus ? "-0" : String(Int64(value)))
        }
        return .number("\(value)")
    }

    static func json(_ value: Float) -> JSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
        if value == value.rounded(.towardZero), abs(value) < 1e7 {
            return .number(value == 0 && value.sign == .minus ? "-0" : String(Int64(value)))
        }
        return .number("\(value)")
    }

    /// The text of a number given as a JSON number or as a string holding one.
    static func numberText(_ value: JSONValue) -> String? {
        switch value {
        case .number(let text):
            return text
        case .string(let text):
            guard case .number = try? JSONParser.parse(Array(text.utf8)), text.first != " " else { return nil }
            return text
        default:
            return nil
        }
    }

    /// A whole number in `range`, or nil with the reason.
    static func integer(_ text: String, in range: ClosedRange<Int64>) -> Result<Int64, Failure> {
        if let exact = Int64(text) {
            return range.contains(exact) ? .success(exact) : .failure(.outOfRange)
        }
        if text.allSatisfy({ $0 == "-" || $0.isNumber }) { return .failure(.outOfRange) }  // beyond Int64
        guard let double = Double(text), double.isFinite, double == double.rounded() else {
            return .failure(.notWhole)
        }
        guard double >= -9.223_372_036_854_775_808e18, double < 9.223_372_036_854_775_808e18,
            range.contains(Int64(double))
        else {
            return .failure(.outOfRange)
        }
        return .success(Int64(double))
    }

    /// A whole non-negative number up to `maximum`, or nil with the reason.
    static func unsigned(_ text: String, maximum: UInt64) -> Result<UInt64, Failure> {
        if let exact = UInt64(text) {
            return exact <= maximum ? .success(exact) : .failure(.outOfRange)
        }
        if text.allSatisfy(\.isNumber) { return .failure(.outOfRange) }
        guard let double = Double(text), double.isFinite, double == double.rounded() else {
            return .failure(.notWhole)
        }
        guard double >= 0, double < 1.844_674_407_370_955_161_6e19, UInt64(double) <= maximum else {
            return .failure(.outOfRange)
        }
        return .success(UInt64(double))
    }

    enum Failure: Error {
        case notWhole
        case outOfRange
    }
}
