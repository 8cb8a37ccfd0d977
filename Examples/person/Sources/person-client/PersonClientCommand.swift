import ArgumentParser
import Foundation
import GRPCSimple
import Logging
import PersonService
import SpanLog

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls AsillaService as the seed's `client.py` does: checkMarried, then getInfor.
@main
struct PersonClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person-client",
        abstract: "Calls AsillaService (the seed's person.proto) over gRPC."
    )

    @Option(help: "IP address (or name) of the server.")
    var ip = "localhost"

    @Option(help: "Port the server listens on.")
    var port = 50051

    @Option(
        help: ArgumentHelp(
            "A gRPC target instead of --ip and --port: dns:///host:port, ipv4:a:p,b:p, unix:path, unix-abstract:name.",
            valueName: "target"))
    var target: String?

    @Option(help: "Spread calls with pick_first, round_robin or least_request.")
    var lbPolicy: String?

    @Option(
        help: ArgumentHelp(
            "A service config (JSON, or @file): timeouts, retries, load balancing, health checking.",
            valueName: "json"))
    var serviceConfig: String?

    @Option(help: "How many getInfor calls to make over the one channel (after one checkMarried).")
    var calls = 1

    @Option(help: "The name to ask about.")
    var name = "trung"

    @Option(help: "Compress requests with identity, gzip or deflate.")
    var compression = "identity"

    @Flag(help: "Connect over TLS (trusting the system's roots, or --ca-file).")
    var tls = false

    @Option(help: "Trust the CA certificates in this PEM file (implies --tls).")
    var caFile: String?

    @Option(help: "The name the server's certificate must carry, if not --ip (implies --tls).")
    var serverName: String?

    @Option(help: "Send 'authorization: Bearer <token>' with every call.")
    var authToken: String?

    @Flag(help: "Trace the calls (W3C traceparent sent) and log each finished span to standard error.")
    var tracing = false

    @Option(
        help: "Least severe level logged to standard error: debug shows the connection's life, info a line per call.")
    var logLevel = "warning"

    func run() async throws {
        do {
            guard let level = Logger.Level(rawValue: self.logLevel) else {
                throw ValidationError("unknown log level '\(self.logLevel)'")
            }
            let logger = Logger(label: "person-client") { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var configuration = GRPCChannel.Configuration()
            configuration.logger = logger
            configuration.observability.accessLog = level <= .info
            if self.tracing {
                let spans = Logger(label: "person-client.tracing") { StreamLogHandler.standardError(label: $0) }
                configuration.observability.tracer = SpanLogTracer(logger: spans)
            }
            if self.tls || self.caFile != nil || self.serverName != nil {
                configuration.tls = ClientTLSConfiguration(
                    trustRoots: self.caFile.map { .pem(.file(path: $0)) } ?? .systemDefault,
                    serverName: self.serverName
                )
            }
            if let token = self.authToken {
                configuration.credentials = .bearerToken(token)
            }
            switch self.lbPolicy {
            case nil: break
            case "pick_first": configuration.loadBalancing = .pickFirst
            case "round_robin": configuration.loadBalancing = .roundRobin
            case "least_request": configuration.loadBalancing = .leastRequest()
            case let other?:
                throw ValidationError("--lb-policy must be pick_first, round_robin or least_request, not '\(other)'")
            }
            if let serviceConfig = self.serviceConfig {
                let json =
                    serviceConfig.hasPrefix("@")
                    ? try String(contentsOfFile: String(serviceConfig.dropFirst()), encoding: .utf8) : serviceConfig
                configuration.serviceConfig = try ServiceConfig(json: json)
            }
            guard self.calls >= 1 else { throw ValidationError("--calls must be at least 1") }
            let channel =
                try self.target.map { try GRPCChannel(target: $0, configuration: configuration) }
                ?? GRPCChannel(host: self.ip, port: self.port, configuration: configuration)
            let client = AsillaServiceClient(channel: channel)

            guard let algorithm = CompressionAlgorithm.supported.first(where: { $0.name == self.compression }) else {
                throw ValidationError("--compression must be identity, gzip or deflate")
            }
            let options = CallOptions(compression: algorithm)
            let status = try await client.checkMarried(.with { $0.name = self.name }, options: options)
            print("checkMarried(\(self.name)): married: \(status.married)")
            for _ in 0..<self.calls {
                let person = try await client.getInfor(.with { $0.name = self.name }, options: options)
                print("getInfor(\(self.name)): name: \(person.name), id: \(person.id), married: \(person.married)")
            }
            await channel.close()
        } catch {
            var standardError = StandardError()
            print("error: \(error)", to: &standardError)
            throw ExitCode.failure
        }
    }
}

/// Standard error as a `TextOutputStream`, unbuffered.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { writeToStandardError($0.baseAddress, $0.count) }
    }
}

private func writeToStandardError(_ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(2, bytes, count)
    #else
    Darwin.write(2, bytes, count)
    #endif
}
