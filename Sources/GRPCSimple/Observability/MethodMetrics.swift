import CoreMetrics
import Synchronization

/// One method's A66 instruments on one side: its `started` counter, made up front, and,
/// made on the first call that ends with each status, its duration and size histograms.
///
/// Handles are kept rather than made per call: making one asks the backend (a lock and a
/// dictionary lookup in most), recording with one is the backend's cheapest path.
final class MethodMetrics: Sendable {
    /// The histograms of calls that ended with one status.
    struct Ended: Sendable {
        let duration: CoreMetrics.Timer
        let sentSize: Recorder
        let receivedSize: Recorder
        /// The client's `grpc.client.call.duration`; nil on the server.
        let callDuration: CoreMetrics.Timer?
    }

    /// Which instruments one side records.
    struct Instruments: Sendable {
        var started: MetricInstrument
        var duration: MetricInstrument
        var sentSize: MetricInstrument
        var receivedSize: MetricInstrument
        var callDuration: MetricInstrument?

        static let server = Instruments(
            started: GRPCMetrics.serverCallStarted,
            duration: GRPCMetrics.serverCallDuration,
            sentSize: GRPCMetrics.serverCallSentSize,
            receivedSize: GRPCMetrics.serverCallReceivedSize
        )
        static let client = Instruments(
            started: GRPCMetrics.clientAttemptStarted,
            duration: GRPCMetrics.clientAttemptDuration,
            sentSize: GRPCMetrics.clientAttemptSentSize,
            receivedSize: GRPCMetrics.clientAttemptReceivedSize,
            callDuration: GRPCMetrics.clientCallDuration
        )
    }

    /// `grpc.method`'s value: `AsillaService/getInfor`, or `other`.
    let name: String
    let started: Counter
    private let dimensions: [(String, String)]
    private let instruments: Instruments
    private let factory: any MetricsFactory
    /// Indexed by status code.
    private let ended = Mutex<[Ended?]>(Array(repeating: nil, count: StatusCode.allCases.count))

    /// - Parameters:
    ///   - name: The method's name in `grpc.method`.
    ///   - extraDimensions: Added to every instrument's (the client's `grpc.target`).
    init(name: String, extraDimensions: [(String, String)] = [], instruments: Instruments, factory: any MetricsFactory)
    {
        self.name = name
        self.dimensions = [("grpc.method", name)] + extraDimensions
        self.instruments = instruments
        self.factory = factory
        self.started = Counter(label: instruments.started.name, dimensions: self.dimensions, factory: factory)
    }

    /// The histograms for calls that ended with `code`.
    func ended(_ code: StatusCode) -> Ended {
        self.ended.withLock { slots in
            if let ended = slots[code.rawValue] { return ended }
            let dimensions = self.dimensions + [("grpc.status", code.name)]
            let ended = Ended(
                duration: Timer(label: self.instruments.duration.name, dimensions: dimensions, factory: self.factory),
                sentSize: Recorder(
                    label: self.instruments.sentSize.name, dimensions: dimensions, aggregate: true,
                    factory: self.factory),
                receivedSize: Recorder(
                    label: self.instruments.receivedSize.name, dimensions: dimensions, aggregate: true,
                    factory: self.factory),
                callDuration: self.instruments.callDuration.map {
                    Timer(label: $0.name, dimensions: dimensions, factory: self.factory)
                }
            )
            slots[code.rawValue] = ended
            return ended
        }
    }
}
