import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Server {
    /// Shuts the server down gracefully when the process receives SIGINT (Ctrl-C) or
    /// SIGTERM (`kill`, a service manager): the listener closes, and calls in flight get
    /// `gracePeriod` to finish. Call it once, after `start`; `waitForTermination()` then
    /// returns when the shutdown is done.
    public func shutdownOnTerminationSignals(gracePeriod: Duration = .seconds(5)) {
        let watcher = SignalWatcher(signals: [SIGINT, SIGTERM]) { [self] in
            Task { await self.shutdown(gracePeriod: gracePeriod) }
        }
        self.retainForLifetime(watcher)
    }
}

/// Runs a closure each time the process receives one of the given signals.
///
/// `@unchecked Sendable`: its only stored state is the array of dispatch sources, set in
/// `init` and never changed; DispatchSource itself is thread-safe.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    /// Returns once every source is registered: a signal that arrives after `init` is
    /// seen, not lost between ignoring it and dispatch starting to watch for it.
    init(signals: [Int32], onSignal: @escaping @Sendable () -> Void) {
        let registered = DispatchSemaphore(value: 0)
        self.sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: onSignal)
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            return source
        }
        for _ in signals {
            _ = registered.wait(timeout: .now() + .seconds(2))
        }
    }
}
