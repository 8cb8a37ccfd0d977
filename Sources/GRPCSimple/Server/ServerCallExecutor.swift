import Logging
import NIOCore
import Tracing

/// Runs each call's handler: in one task on its connection's event loop, started as soon
/// as it can run, and its ending (a return, an `RPCError`, any other error, cancellation)
/// turned into the call's status.
///
/// Client- and bidirectional-streaming handlers start with the request headers. Unary and
/// server-streaming handlers start once their one request has ended (or a second message
/// shows the client broke the rule), so they usually run to their end inside the read
/// that completed the request, with no job on the loop's queue.
struct ServerCallExecutor {
    /// The connection's event loop, as a task executor.
    let executor: EventLoopTaskExecutor
    /// Where handler failures that are not an `RPCError` are logged.
    let logger: Logger

    /// Starts `handler` for `stream`, now or once its request is complete.
    func start(_ handler: MethodHandler, call: ServerCall, for stream: ServerStream) {
        if handler.kind.streamsRequests {
            self.spawn(handler, call: call, for: stream)
        } else {
            stream.pendingStart = ServerStream.PendingStart(handler: handler, call: call)
            self.startIfReady(stream)
        }
    }

    /// Starts the handler waiting for `stream`'s request, if the request is complete.
    func startIfReady(_ stream: ServerStream) {
        guard stream.pendingStart != nil, let start = stream.takeStartIfReady() else { return }
        self.spawn(start.handler, call: start.call, for: stream)
    }

    private func spawn(_ handler: MethodHandler, call: ServerCall, for stream: ServerStream) {
        let task: Task<Void, Never>
        if let span = stream.record?.span {
            task = Self.startTask(
                handler, call: call, context: stream.context, logger: self.logger, serviceContext: span.context,
                on: self.executor)
        } else {
            task = Self.startTask(handler, call: call, context: stream.context, logger: self.logger, on: self.executor)
        }
        if !stream.handlerFinished {
            stream.task = task
        }
    }

    /// Starts the handler's task. It starts right here, on the event loop, and runs until
    /// it first suspends: a unary handler whose request is complete usually finishes
    /// before this returns. After a suspension it resumes on the loop's executor.
    private static func startTask(
        _ handler: MethodHandler,
        call: ServerCall,
        context: ServerContext,
        logger: Logger,
        on executor: EventLoopTaskExecutor
    ) -> Task<Void, Never> {
        #if compiler(>=6.2)
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            return Task.immediate(executorPreference: executor) {
                await run(handler, call: call, context: context, logger: logger)
            }
        }
        #endif
        return Task(executorPreference: executor) {
            await run(handler, call: call, context: context, logger: logger)
        }
    }

    /// Starts the handler's task with the call's span as `ServiceContext.current`, so
    /// the handler's own spans are its children.
    private static func startTask(
        _ handler: MethodHandler,
        call: ServerCall,
        context: ServerContext,
        logger: Logger,
        serviceContext: ServiceContext,
        on executor: EventLoopTaskExecutor
    ) -> Task<Void, Never> {
        #if compiler(>=6.2)
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            return Task.immediate(executorPreference: executor) {
                await ServiceContext.withValue(serviceContext) {
                    await run(handler, call: call, context: context, logger: logger)
                }
            }
        }
        #endif
        return Task(executorPreference: executor) {
            await ServiceContext.withValue(serviceContext) {
                await run(handler, call: call, context: context, logger: logger)
            }
        }
    }

    private static func run(_ handler: MethodHandler, call: ServerCall, context: ServerContext, logger: Logger) async {
        let outcome: (Status, Metadata)
        do {
            try await handler.run(call, context)
            outcome = (.ok, context.trailingMetadata)
        } catch {
            outcome = self.status(of: error, context: context, logger: logger)
        }
        call.finish(status: outcome.0, trailers: outcome.1)
    }

    /// The status and trailers a handler's error ends its call with:
    /// - an `RPCError`: its code, message and details, its trailing metadata after the
    ///   context's; its `cause`, if any, is logged and goes no further;
    /// - cancellation (the client went away, the deadline passed): CANCELLED;
    /// - anything else: UNKNOWN with a message that names the method but not the error,
    ///   which may hold internals; the server's log has it.
    static func status(of error: any Error, context: ServerContext, logger: Logger) -> (Status, Metadata) {
        switch error {
        case let error as RPCError:
            if let cause = error.cause {
                logger.warning(
                    "handler failed",
                    metadata: ["path": "\(context.method.path)", "status": "\(error.code)", "cause": "\(cause)"]
                )
            }
            var trailers = context.trailingMetadata
            trailers.merge(error.trailingMetadata)
            return (Status(error), trailers)
        case is CancellationError:
            return (Status(code: .cancelled, message: "the call was cancelled"), context.trailingMetadata)
        default:
            logger.error("handler failed", metadata: ["path": "\(context.method.path)", "error": "\(error)"])
            return (
                Status(code: .unknown, message: "the handler of \(context.method.path) failed"),
                context.trailingMetadata
            )
        }
    }
}
