import NIOCore
import NIOHTTP2

/// The life of one HTTP/2 connection, on either side: from its start to its close, the
/// calls it carries, and the timers that may end it (handshake, keepalive, idle, age).
///
/// It only decides. The connection handler (`ServerConnectionHandler`,
/// `ClientConnectionHandler`) tells it what happened and carries out the actions it
/// returns: arming and disarming timers, writing PING and GOAWAY, closing. Events that
/// come with every frame or call (`frameReceived`, `streamOpened`, `streamClosed`) return
/// at most one action and allocate nothing; timer events, which are rare, return a list.
///
/// The states:
/// - `starting`: the connection exists but is not usable yet (the server has not seen the
///   client's first frame; the client has not written its preface).
/// - `active`: calls start and run.
/// - `draining`: GOAWAY went out (server) or came in (client): no new call; the connection
///   closes once the last call has ended.
/// - `closing`: closing now (an error GOAWAY, a dead peer, a forced close).
/// - `closed`: the channel is inactive.
struct ConnectionStateMachine {
    enum State: Equatable {
        case starting
        case active
        case draining
        case closing
        case closed
    }

    /// The timers a connection may run; the handler keeps one of each.
    enum Timer: Hashable, CaseIterable {
        /// Closes a connection that sends nothing after it was accepted (server).
        case handshake
        /// The keepalive `time`, then the keepalive `timeout` after a PING.
        case keepalive
        /// Checks whether the connection has had no call for `maximumIdle` (server).
        case idle
        /// `maximumAge`, then its grace period (server).
        case age
    }

    /// What the handler does.
    enum Action: Equatable {
        /// (Re)starts `timer` to fire after `delay`.
        case arm(Timer, after: TimeAmount)
        /// Stops `timer`.
        case disarm(Timer)
        /// Writes a keepalive PING (`KeepaliveStateMachine.pingData`) and flushes.
        case sendKeepalivePing
        /// Writes GOAWAY (after any gathered data) and flushes. `why` is for the log.
        case sendGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: String?, why: String)
        /// Closes once everything written so far is on the wire.
        case closeWhenWritten
        /// Closes now; calls still open fail with UNAVAILABLE and `reason`.
        case abort(reason: String)
    }

    /// Keepalive timing: a PING after `time` without a frame from the peer, the peer dead
    /// when nothing comes within `timeout`.
    struct Keepalive: Equatable {
        var time: TimeAmount
        var timeout: TimeAmount
        var permitWithoutCalls: Bool
    }

    struct Configuration {
        /// Who is at the other end, "client" or "server": for messages.
        var peer: String
        /// How long a new connection has to send its first frame (server); nil: no limit.
        var handshakeTimeout: TimeAmount?
        /// Nil: no keepalive PINGs.
        var keepalive: Keepalive?
        /// How long a connection may go without a call before it is drained (server).
        var maximumIdle: TimeAmount?
        /// How long a connection may live before it is drained (server); already jittered.
        var maximumAge: TimeAmount?
        /// How long calls get after `maximumAge` before the connection closes under them.
        var maximumAgeGrace: TimeAmount?
        /// The rule for the peer's PINGs (server); nil: PINGs are not judged.
        var pingPolicy: ServerPingPolicy?
        /// The bound on the peer's control frames: SETTINGS, PRIORITY, ALTSVC, ORIGIN, PING
        /// acks, and the PINGs that follow nothing we sent (a response, on the server; a
        /// request's headers or data, on the client). Nil: none.
        var controlFrameLimit: ControlFrameLimit?
    }

    let configuration: Configuration
    private(set) var state = State.starting
    /// Calls open on the connection.
    private(set) var openStreams = 0
    /// The highest stream ID the peer opened (server): what GOAWAY names as the last
    /// stream that may still be processed.
    private(set) var lastPeerStreamID = HTTP2StreamID.rootStream
    private var keepalive: KeepaliveStateMachine
    private var isKeepaliveArmed = false
    private var pingPolicy: ServerPingPolicy?
    private var controlFrameLimit: ControlFrameLimit?
    /// Whether we sent headers or data since the peer's last PING (the client's side of
    /// what the server's ping policy tracks).
    private var sentSinceLastPing = false
    /// When the last call ended (or the connection started); used with `maximumIdle`.
    private var idleSince: NIODeadline
    /// Whether `maximumAge` has passed and the `age` timer now runs its grace period.
    private var isInAgeGrace = false

    init(configuration: Configuration, now: NIODeadline = .now()) {
        self.configuration = configuration
        self.keepalive = KeepaliveStateMachine(permitWithoutCalls: configuration.keepalive?.permitWithoutCalls ?? false)
        self.pingPolicy = configuration.pingPolicy
        self.controlFrameLimit = configuration.controlFrameLimit
        self.idleSince = now
    }

    /// Whether new calls may start (or, while starting, wait for the connection).
    var acceptsCalls: Bool { self.state == .starting || self.state == .active }

    // MARK: Lifecycle

    /// The connection is up: the server accepted it, or the client has written its
    /// preface. Returns the timers to arm. Without a handshake timeout the connection is
    /// active at once; with one it stays `starting` until its first frame.
    mutating func start(now: NIODeadline = .now()) -> [Action] {
        var actions: [Action] = []
        if let timeout = self.configuration.handshakeTimeout {
            actions.append(.arm(.handshake, after: timeout))
        } else if self.state == .starting {
            self.state = .active
        }
        if let keepalive = self.configuration.keepalive {
            self.isKeepaliveArmed = true
            actions.append(.arm(.keepalive, after: keepalive.time))
        }
        if let idle = self.configuration.maximumIdle {
            self.idleSince = now
            actions.append(.arm(.idle, after: idle))
        }
        if let age = self.configuration.maximumAge {
            actions.append(.arm(.age, after: age))
        }
        return actions
    }

    /// A frame came from the peer. The first one ends the handshake.
    mutating func frameReceived() -> Action? {
        self.keepalive.frameReceived()
        guard self.state == .starting, self.configuration.handshakeTimeout != nil else { return nil }
        self.state = .active
        return .disarm(.handshake)
    }

    /// The peer opened stream `id` (server), whether or not it becomes a call.
    mutating func peerOpenedStream(_ id: HTTP2StreamID) {
        if id > self.lastPeerStreamID { self.lastPeerStreamID = id }
    }

    /// A call started. Restarts keepalive if it paused for want of calls.
    mutating func streamOpened() -> Action? {
        self.openStreams += 1
        guard let keepalive = self.configuration.keepalive, !self.isKeepaliveArmed, self.acceptsCalls else {
            return nil
        }
        self.isKeepaliveArmed = true
        return .arm(.keepalive, after: keepalive.time)
    }

    /// A call ended. A draining connection closes after its last one.
    mutating func streamClosed(now: @autoclosure () -> NIODeadline) -> Action? {
        self.openStreams -= 1
        guard self.openStreams == 0 else { return nil }
        if self.configuration.maximumIdle != nil {
            self.idleSince = now()
        }
        return self.state == .draining ? .closeWhenWritten : nil
    }

    /// The channel went inactive.
    mutating func closed() {
        self.state = .closed
        self.openStreams = 0
    }

    // MARK: Draining and closing

    /// Stop taking calls: GOAWAY, then close once the calls in flight are done (a server
    /// shutting down, or at the connection's maximum idle time or age).
    mutating func startDraining(why: String = "the server is shutting down") -> [Action] {
        guard self.state == .starting || self.state == .active else { return [] }
        self.state = .draining
        let goAway = Action.sendGoAway(
            lastStreamID: self.lastPeerStreamID, errorCode: .noError, debugData: nil, why: why)
        return self.openStreams == 0 ? [goAway, .closeWhenWritten] : [goAway]
    }

    /// The peer sent GOAWAY (client): no new calls here; close once the last call ends.
    mutating func goAwayReceived() -> Action? {
        self.stopTakingCalls()
    }

    /// No new calls here (the peer's GOAWAY, or the client no longer wants the
    /// connection); close once the last call ends.
    mutating func stopTakingCalls() -> Action? {
        if self.state == .starting || self.state == .active {
            self.state = .draining
        }
        return self.state == .draining && self.openStreams == 0 ? .closeWhenWritten : nil
    }

    /// Close now, failing the calls still open with `reason`.
    mutating func abort(reason: String) -> Action? {
        guard self.state != .closing, self.state != .closed else { return nil }
        self.state = .closing
        return .abort(reason: reason)
    }

    // MARK: PINGs

    /// The peer sent a PING (not an ack). Judged by the ping policy (server): the third
    /// early one gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings", and the connection closes.
    /// A PING that follows no response also counts against the control-frame limit; one
    /// that follows a response (a bandwidth probe) does not.
    ///
    /// Without a ping policy (the client) PINGs are not judged; one that follows headers or
    /// data we sent (a server's bandwidth probe: grpc-go's server pings when DATA arrives)
    /// is free, any other counts against the control-frame limit.
    mutating func pingReceived(now: NIODeadline = .now()) -> [Action] {
        guard var policy = self.pingPolicy else {
            let followsRequest = self.sentSinceLastPing
            self.sentSinceLastPing = false
            return followsRequest ? [] : self.controlFrameReceived(now: now)
        }
        let followsResponse = policy.hasRespondedSinceLastPing
        let verdict = policy.pingReceived(at: now, hasActiveCalls: self.openStreams > 0)
        self.pingPolicy = policy
        guard verdict == .tooManyPings else {
            return followsResponse ? [] : self.controlFrameReceived(now: now)
        }
        guard self.state != .closing, self.state != .closed else { return [] }
        self.state = .closing
        return [
            .sendGoAway(
                lastStreamID: self.lastPeerStreamID,
                errorCode: .enhanceYourCalm,
                debugData: "too_many_pings",
                why: "the client pings too often"
            ),
            .closeWhenWritten,
        ]
    }

    /// The peer sent a control frame that asks for work or an answer (SETTINGS, PRIORITY,
    /// ALTSVC, ORIGIN, a PING ack; `pingReceived` counts PINGs). Past the control-frame
    /// limit: GOAWAY ENHANCE_YOUR_CALM "too_many_control_frames", and the connection closes
    /// at once (a flood's sender may not be reading).
    mutating func controlFrameReceived(now: NIODeadline = .now()) -> [Action] {
        guard var limit = self.controlFrameLimit else { return [] }
        let withinLimit = limit.record(at: now)
        self.controlFrameLimit = limit
        guard !withinLimit, self.state != .closing, self.state != .closed else { return [] }
        self.state = .closing
        return [
            .sendGoAway(
                lastStreamID: self.lastPeerStreamID,
                errorCode: .enhanceYourCalm,
                debugData: "too_many_control_frames",
                why: "the \(self.configuration.peer) sends too many control frames"
            ),
            .abort(reason: "the \(self.configuration.peer) sent too many control frames"),
        ]
    }

    /// The ack of a PING arrived. The ack of our keepalive PING restarts the keepalive time.
    mutating func pingAckReceived(_ data: HTTP2PingData) -> Action? {
        guard data == KeepaliveStateMachine.pingData, let keepalive = self.configuration.keepalive,
            self.keepalive.isAwaitingAck
        else { return nil }
        self.keepalive.ackReceived()
        return .arm(.keepalive, after: keepalive.time)
    }

    /// We sent the peer response headers or data: the ping policy forgives its strikes.
    mutating func responseSent() {
        self.pingPolicy?.responseSent()
    }

    /// We sent the peer request headers or data (client): its next PING follows them.
    mutating func requestSent() {
        self.sentSinceLastPing = true
    }

    // MARK: Timers

    /// `timer` fired.
    mutating func timerFired(_ timer: Timer, now: NIODeadline = .now()) -> [Action] {
        switch timer {
        case .handshake:
            guard self.state == .starting else { return [] }
            return self.abort(reason: "the connection sent nothing within its handshake timeout").map { [$0] } ?? []
        case .keepalive:
            return self.keepaliveTimerFired()
        case .idle:
            return self.idleTimerFired(now: now)
        case .age:
            return self.ageTimerFired()
        }
    }

    private mutating func keepaliveTimerFired() -> [Action] {
        guard let configuration = self.configuration.keepalive, self.state != .closing, self.state != .closed else {
            self.isKeepaliveArmed = false
            return []
        }
        if self.keepalive.isAwaitingAck {
            // The timeout after our PING.
            guard self.keepalive.timeoutElapsed() else {
                return [.arm(.keepalive, after: configuration.time)]
            }
            self.isKeepaliveArmed = false
            return self.abort(
                reason:
                    "keepalive timed out: the \(self.configuration.peer) did not answer a PING within \(configuration.timeout.prettyPrint)"
            )
            .map { [$0] } ?? []
        }
        switch self.keepalive.timeElapsed(hasActiveCalls: self.openStreams > 0) {
        case .pause:
            self.isKeepaliveArmed = false
            return []
        case .waitAgain:
            return [.arm(.keepalive, after: configuration.time)]
        case .sendPing:
            return [.sendKeepalivePing, .arm(.keepalive, after: configuration.timeout)]
        }
    }

    private mutating func idleTimerFired(now: NIODeadline) -> [Action] {
        guard let limit = self.configuration.maximumIdle, self.acceptsCalls else { return [] }
        guard self.openStreams == 0 else {
            return [.arm(.idle, after: limit)]
        }
        let idleFor = now - self.idleSince
        guard idleFor >= limit else {
            return [.arm(.idle, after: limit - idleFor)]
        }
        return self.startDraining(why: "the connection was idle for \(limit.prettyPrint)")
    }

    private mutating func ageTimerFired() -> [Action] {
        if self.isInAgeGrace {
            return self.abort(
                reason: "the connection reached its maximum age and its calls did not finish within the grace period"
            ).map { [$0] } ?? []
        }
        var actions = self.startDraining(why: "the connection reached its maximum age")
        if let grace = self.configuration.maximumAgeGrace, self.state == .draining {
            self.isInAgeGrace = true
            actions.append(.arm(.age, after: grace))
        }
        return actions
    }
}

extension TimeAmount {
    /// As a `Duration` prints ("20.0 seconds"): for messages.
    fileprivate var prettyPrint: String {
        "\(Duration.nanoseconds(self.nanoseconds))"
    }
}
