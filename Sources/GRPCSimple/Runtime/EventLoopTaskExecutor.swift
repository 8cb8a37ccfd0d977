import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A call's handler task prefers the executor of its connection's event loop, so the
/// handler, the reading of its requests and the writing of its responses all happen on
/// the thread that owns the connection: no hop between threads that the work does not
/// need.
///
/// One danger comes with it: NIO runs every task that becomes ready during a tick
/// before it polls for I/O again, and a streaming handler on the loop can keep a chain
/// of tasks alive forever (write, flush, resume, write...), starving the reads of every
/// connection on that loop. So once a tick has spent `tickBudget` running our jobs, new
/// jobs wait a few microseconds: the loop drains, polls I/O, and then runs them.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop
    private let ticks: LoopTicks?
    static let tickBudget = TimeAmount.milliseconds(1)

    init(eventLoop: any EventLoop, ticks: LoopTicks?) {
        self.eventLoop = eventLoop
        self.ticks = ticks
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if let ticks = self.ticks, self.eventLoop.inEventLoop, ticks.isOverBudget(Self.tickBudget) {
            self.eventLoop.assumeIsolated().scheduleTask(in: .microseconds(20)) {
                job.runSynchronously(on: self.asUnownedTaskExecutor())
            }
            return
        }
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// Counts the ticks of one event loop, and when the current tick started running jobs.
///
/// `@unchecked Sendable`: `tick` is written by `TickCounter.processedTick`, which NIO
/// calls on the loop's own thread, and everything else is read and written only from
/// `EventLoopTaskExecutor.enqueue` after it has checked `inEventLoop`. Every access is
/// therefore on that one thread.
final class LoopTicks: @unchecked Sendable {
    fileprivate var tick: UInt64 = 0
    private var budgetTick: UInt64 = .max
    private var budgetStart = NIODeadline.uptimeNanoseconds(0)

    /// Whether the current tick has been running jobs for longer than `budget`.
    func isOverBudget(_ budget: TimeAmount) -> Bool {
        let now = NIODeadline.now()
        if self.budgetTick != self.tick {
            self.budgetTick = self.tick
            self.budgetStart = now
            return false
        }
        return now - self.budgetStart > budget
    }
}

/// Told by NIO at the end of every tick of a server's event loops.
final class TickCounter: NIOEventLoopMetricsDelegate {
    private let loops = NIOLockedValueBox<[ObjectIdentifier: LoopTicks]>([:])

    func ticks(for eventLoop: any EventLoop) -> LoopTicks {
        self.loops.withLockedValue { loops in
            let id = ObjectIdentifier(eventLoop)
            if let existing = loops[id] { return existing }
            let created = LoopTicks()
            loops[id] = created
            return created
        }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        if let ticks = self.loops.withLockedValue({ $0[info.eventLoopID] }) {
            ticks.tick &+= 1
        }
    }
}
