import ArgumentParser

/// The forms of a boolean flag that grpc's interop runners pass, read as grpc-go reads
/// them: `--use_tls`, `--use_tls=true`, `--use_tls true`, `--use_tls=false`,
/// `--use_tls false` (one dash too, and every spelling Go's `strconv.ParseBool` takes:
/// `1`, `t`, `TRUE`, `0`, `f`, `False`, ...). The interop binaries rewrite their
/// arguments with `normalize` before ArgumentParser reads them, so each flag reaches it as
/// `--name=true` or `--name=false`.
public enum BooleanFlagArguments {
    /// `arguments` with every form of the boolean `flags` (names without dashes) rewritten
    /// to `--name=true|false`. A value that is not a boolean is left for the command's
    /// validation to report.
    public static func normalize(_ arguments: [String], flags: Set<String>) -> [String] {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-"), argument != "--" else {
                result.append(argument)
                continue
            }
            let body = argument.drop { $0 == "-" }
            let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard flags.contains(name) else {
                result.append(argument)
                continue
            }
            if parts.count == 2 {
                let value = String(parts[1])
                result.append("--\(name)=\(Self.parse(value).map(String.init) ?? value)")
            } else if index < arguments.endIndex, let value = Self.parse(arguments[index]) {
                result.append("--\(name)=\(value)")
                index += 1
            } else {
                result.append("--\(name)=true")
            }
        }
        return result
    }

    /// A boolean as Go's `strconv.ParseBool` reads it.
    static func parse(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }
}

extension AsyncParsableCommand {
    /// Runs the command on the process's arguments, read after `BooleanFlagArguments`
    /// rewrote the forms of `booleanFlags`: the `main` of the interop binaries.
    public static func main(booleanFlags: Set<String>) async {
        let arguments = BooleanFlagArguments.normalize(Array(CommandLine.arguments.dropFirst()), flags: booleanFlags)
        do {
            var command = try Self.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
