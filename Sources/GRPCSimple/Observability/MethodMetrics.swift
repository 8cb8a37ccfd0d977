import CoreMetrics
import Synchronization

/// One method's A66 instruments on one side: its `started` counter, made up front, and,
/// made on the first call that ends with each status, its duration and size histograms.
///
/// Handles are kept rather than made per call: making one asks the backend (a lock and a
/// dictionary lookup in most), recording with one is the backend's cheapest path. They are
/// the backend's own handlers, not swift-metrics' `Counter`, `Timer` and `Recorder`: those
/// are open classes whose generic `record(_:)` and `increment(by:)` are called through the
/// vtable unspecialised, converting each value through `BinaryInteger`'s witnesses (a
/// third of what recording a call cost, measured with `perf` in bench-server).
final class MethodMetrics: Sendable {
    /// The histograms of calls that ended with one status. A class, so that a call takes
    /// one reference to it rather than one to each histogram.
    final class Ended: Sendable {
        let duration: any TimerHandler
        let sentSize: any RecorderHandler
        let receivedSize: any RecorderHandler
        /// The client's `grpc.client.call.duration`; nil on the server.
        let callDuration: (any TimerHandler)?

        init(
            duration: any TimerHandler, sentSize: any RecorderHandler, receivedSize: any RecorderHandler,
            callDuration: (any TimerHandler)?
        ) {
            self.duration = duration
            self.sentSize = sentSize
            self.receivedSize = receivedSize
            self.callDuration = callDuration
        }
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
    let started: any CounterHandler
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
        self.started = factory.makeCounter(label: instruments.started.name, dimensions: self.dimensions)
    }

    /// The histograms for calls that ended with `code`.
    func ended(_ code: StatusCode) -> Ended {
        self.ended.withLock { slots in
            if let ended = slots[code.rawValue] { return ended }
            let dimensions = self.dimensions + [("grpc.status", code.name)]
            let ended = Ended(
                duration: self.factory.makeTimer(label: self.instruments.duration.name, dimensions: dimensions),
                sentSize: self.factory.makeRecorder(
                    label: self.instruments.sentSize.name, dimensions: dimensions, aggregate: true),
                receivedSize: self.factory.makeRecorder(
                    label: self.instruments.receivedSize.name, dimensions: dimensions, aggregate: true),
                callDuration: self.instruments.callDuration.map {
                    self.factory.makeTimer(label: $0.name, dimensions: dimensions)
                }
            )
            slots[code.rawValue] = ended
            return ended
        }
    }
}
