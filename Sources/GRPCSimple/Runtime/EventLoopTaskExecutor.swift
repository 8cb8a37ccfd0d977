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
/// jobs go to a queue of the loop's own, drained by one task scheduled a few microseconds
/// later: the loop finishes its tick, polls I/O, and then runs them. Deferring costs an
/// append per job and one scheduled task per tick, so a busy loop pays little for it.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop
    private let budget: LoopBudget?
    static let tickBudget = TimeAmount.milliseconds(1)
    static let deferral = TimeAmount.microseconds(20)

    init(eventLoop: any EventLoop, budget: LoopBudget?) {
        self.eventLoop = eventLoop
        self.budget = budget
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if let budget = self.budget, self.eventLoop.inEventLoop, budget.mustDefer(Self.tickBudget) {
            if budget.deferJob(job) {
                self.eventLoop.assumeIsolated().scheduleTask(in: Self.deferral) {
                    self.runDeferredJobs(budget)
                }
            }
            return
        }
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Whether a task running on the loop should let it poll I/O before going on: this
    /// tick has spent its budget. A job that never suspends (a handler writing thousands of
    /// small messages under the back-pressure limit) would otherwise hold the loop.
    var shouldYield: Bool {
        guard let budget = self.budget, self.eventLoop.inEventLoop else { return false }
        return budget.mustDefer(Self.tickBudget)
    }

    private func runDeferredJobs(_ budget: LoopBudget) {
        for job in budget.takeDeferredJobs() {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// The time budget of one event loop's ticks, and the jobs deferred past it.
///
/// `@unchecked Sendable`: `tick` is written by `TickCounter.processedTick`, which NIO
/// calls on the loop's own thread, and everything else is read and written only from
/// `EventLoopTaskExecutor`, after it has checked `inEventLoop` or from a task it
/// scheduled on that loop. Every access is therefore on that one thread.
final class LoopBudget: @unchecked Sendable {
    fileprivate var tick: UInt64 = 0
    private var budgetTick: UInt64 = .max
    private var budgetStart = NIODeadline.uptimeNanoseconds(0)
    private var deferred: [UnownedJob] = []

    /// Whether a new job must wait for a later tick: this tick has run jobs for longer
    /// than `budget`, or earlier jobs are already waiting (they go first).
    func mustDefer(_ budget: TimeAmount) -> Bool {
        if !self.deferred.isEmpty { return true }
        let now = NIODeadline.now()
        if self.budgetTick != self.tick {
            self.budgetTick = self.tick
            self.budgetStart = now
            return false
        }
        return now - self.budgetStart > budget
    }

    /// Queues a job; returns true when it is the first, so a drain must be scheduled.
    func deferJob(_ job: UnownedJob) -> Bool {
        self.deferred.append(job)
        return self.deferred.count == 1
    }

    /// Empties the queue, oldest first.
    func takeDeferredJobs() -> [UnownedJob] {
        defer { self.deferred = [] }
        return self.deferred
    }
}

/// Told by NIO at the end of every tick of a server's event loops.
final class TickCounter: NIOEventLoopMetricsDelegate {
    private let loops = NIOLockedValueBox<[ObjectIdentifier: LoopBudget]>([:])

    func budget(for eventLoop: any EventLoop) -> LoopBudget {
        self.loops.withLockedValue { loops in
            let id = ObjectIdentifier(eventLoop)
            if let existing = loops[id] { return existing }
            let created = LoopBudget()
            loops[id] = created
            return created
        }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        if let budget = self.loops.withLockedValue({ $0[info.eventLoopID] }) {
            budget.tick &+= 1
        }
    }
}
