import NIOCore

/// A `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A call's handler task prefers the executor of its connection's event loop, so the
/// handler, the reading of its requests and the writing of its responses all happen on
/// the thread that owns the connection: no hop between threads that the work does not
/// need.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
