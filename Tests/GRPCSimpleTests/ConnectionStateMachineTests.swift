import NIOCore
import NIOHTTP2
import Testing

@testable import GRPCSimple

/// `ConnectionStateMachine`: the life of a connection, driven event by event with a
/// fake clock; no sockets, no timers.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func server(
        handshake: TimeAmount? = .seconds(10),
        keepalive: Machine.Keepalive? = .init(time: .hours(2), timeout: .seconds(20), permitWithoutCalls: true),
        idle: TimeAmount? = nil,
        age: TimeAmount? = nil,
        grace: TimeAmount? = nil,
        pingPolicy: ServerPingPolicy? = ServerPingPolicy(minimumInterval: .minutes(5), permitWithoutCalls: false),
        controlFrameLimit: ControlFrameLimit? = ControlFrameLimit()
    ) -> Machine {
        Machine(
            configuration: .init(
                peer: "client",
                handshakeTimeout: handshake,
                keepalive: keepalive,
                maximumIdle: idle,
                maximumAge: age,
                maximumAgeGrace: grace,
                pingPolicy: pingPolicy,
                controlFrameLimit: controlFrameLimit
            ),
            now: Self.start
        )
    }

    @Test func aServerStartsWaitingForTheFirstFrameWithItsTimersArmed() {
        var machine = Self.server(idle: .seconds(30), age: .minutes(5))
        #expect(
            machine.start(now: Self.start) == [
                .arm(.handshake, after: .seconds(10)),
                .arm(.keepalive, after: .hours(2)),
                .arm(.idle, after: .seconds(30)),
                .arm(.age, after: .minutes(5)),
            ])
        #expect(machine.state == .starting)
        #expect(machine.acceptsCalls)
        #expect(machine.frameReceived() == .disarm(.handshake))
        #expect(machine.state == .active)
        #expect(machine.frameReceived() == nil, "only the first frame ends the handshake")
    }

    @Test func aSilentConnectionIsAbortedAtTheHandshakeTimeout() {
        var machine = Self.server()
        _ = machine.start(now: Self.start)
        #expect(
            machine.timerFired(.handshake) == [
                .abort(reason: "the connection sent nothing within its handshake timeout")
            ])
        #expect(machine.state == .closing)
        #expect(!machine.acceptsCalls)
    }

    @Test func theHandshakeTimerDoesNothingOnceAFrameCame() {
        var machine = Self.server()
        _ = machine.start(now: Self.start)
        _ = machine.frameReceived()
        #expect(machine.timerFired(.handshake).isEmpty)
        #expect(machine.state == .active)
    }

    @Test func aClientWithoutHandshakeTimeoutIsActiveAtStart() {
        var machine = Machine(configuration: .init(peer: "server"))
        #expect(machine.state == .starting)
        #expect(machine.start().isEmpty)
        #expect(machine.state == .active)
    }

    @Test func keepalivePingsAfterSilenceAndAbortsWhenNothingAnswers() {
        var machine = Self.server(
            handshake: nil, keepalive: .init(time: .seconds(1), timeout: .seconds(2), permitWithoutCalls: true))
        _ = machine.start(now: Self.start)
        // Heard from the peer: wait another `time`.
        _ = machine.frameReceived()
        #expect(machine.timerFired(.keepalive) == [.arm(.keepalive, after: .seconds(1))])
        // Silence: PING, then the timeout.
        #expect(machine.timerFired(.keepalive) == [.sendKeepalivePing, .arm(.keepalive, after: .seconds(2))])
        #expect(
            machine.timerFired(.keepalive) == [
                .abort(reason: "keepalive timed out: the client did not answer a PING within 2.0 seconds")
            ])
        #expect(machine.state == .closing)
        #expect(machine.timerFired(.keepalive).isEmpty, "nothing more once closing")
    }

    @Test func theAckOfOurPingRestartsTheKeepaliveTime() {
        var machine = Self.server(
            handshake: nil, keepalive: .init(time: .seconds(1), timeout: .seconds(2), permitWithoutCalls: true))
        _ = machine.start(now: Self.start)
        _ = machine.timerFired(.keepalive)  // PING sent
        #expect(machine.pingAckReceived(HTTP2PingData(withInteger: 42)) == nil, "not our PING")
        #expect(machine.pingAckReceived(KeepaliveStateMachine.pingData) == .arm(.keepalive, after: .seconds(1)))
        #expect(machine.pingAckReceived(KeepaliveStateMachine.pingData) == nil, "one ack per PING")
    }

    @Test func clientKeepalivePausesWithoutCallsAndResumesWithTheNextCall() {
        var machine = Machine(
            configuration: .init(
                peer: "server", keepalive: .init(time: .seconds(1), timeout: .seconds(1), permitWithoutCalls: false))
        )
        #expect(machine.start() == [.arm(.keepalive, after: .seconds(1))])
        #expect(machine.timerFired(.keepalive).isEmpty, "paused: no call open")
        #expect(machine.streamOpened() == .arm(.keepalive, after: .seconds(1)))
        #expect(machine.streamOpened() == nil, "already running")
        #expect(machine.timerFired(.keepalive) == [.sendKeepalivePing, .arm(.keepalive, after: .seconds(1))])
    }

    @Test func drainingSendsGoAwayAndClosesAfterTheLastCall() {
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        machine.peerOpenedStream(HTTP2StreamID(1))
        _ = machine.streamOpened()
        machine.peerOpenedStream(HTTP2StreamID(3))
        _ = machine.streamOpened()
        #expect(
            machine.startDraining() == [
                .sendGoAway(
                    lastStreamID: HTTP2StreamID(3), errorCode: .noError, debugData: nil,
                    why: "the server is shutting down")
            ])
        #expect(machine.state == .draining)
        #expect(!machine.acceptsCalls)
        #expect(machine.startDraining().isEmpty, "one GOAWAY")
        #expect(machine.streamClosed(now: Self.start) == nil)
        #expect(machine.streamClosed(now: Self.start) == .closeWhenWritten)
    }

    @Test func drainingAnIdleConnectionClosesAtOnce() {
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        #expect(
            machine.startDraining() == [
                .sendGoAway(
                    lastStreamID: .rootStream, errorCode: .noError, debugData: nil, why: "the server is shutting down"),
                .closeWhenWritten,
            ])
    }

    @Test func theIdleTimerDrainsOnlyAConnectionIdleForTheWholeLimit() {
        var machine = Self.server(handshake: nil, idle: .seconds(10))
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        #expect(
            machine.timerFired(.idle, now: Self.start + .seconds(10)) == [.arm(.idle, after: .seconds(10))],
            "a call is open")
        _ = machine.streamClosed(now: Self.start + .seconds(12))
        #expect(
            machine.timerFired(.idle, now: Self.start + .seconds(20)) == [.arm(.idle, after: .seconds(2))],
            "idle for 8 s only")
        let actions = machine.timerFired(.idle, now: Self.start + .seconds(22))
        #expect(actions.count == 2)
        #expect(actions.last == .closeWhenWritten)
        #expect(machine.state == .draining)
    }

    @Test func maximumAgeDrainsThenAbortsAfterTheGracePeriod() {
        var machine = Self.server(handshake: nil, age: .seconds(60), grace: .seconds(5))
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        let drained = machine.timerFired(.age)
        #expect(
            drained == [
                .sendGoAway(
                    lastStreamID: .rootStream, errorCode: .noError, debugData: nil,
                    why: "the connection reached its maximum age"),
                .arm(.age, after: .seconds(5)),
            ])
        #expect(
            machine.timerFired(.age) == [
                .abort(
                    reason:
                        "the connection reached its maximum age and its calls did not finish within the grace period")
            ])
    }

    @Test func maximumAgeWithoutGraceWaitsForTheCalls() {
        var machine = Self.server(handshake: nil, age: .seconds(60))
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        #expect(machine.timerFired(.age).count == 1)
        #expect(machine.streamClosed(now: Self.start) == .closeWhenWritten)
    }

    @Test func theThirdEarlyPingGetsTooManyPingsOnce() {
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        #expect(machine.pingReceived(now: Self.start).isEmpty)
        #expect(machine.pingReceived(now: Self.start + .seconds(1)).isEmpty, "strike 1")
        #expect(machine.pingReceived(now: Self.start + .seconds(2)).isEmpty, "strike 2")
        #expect(
            machine.pingReceived(now: Self.start + .seconds(3)) == [
                .sendGoAway(
                    lastStreamID: .rootStream, errorCode: .enhanceYourCalm, debugData: "too_many_pings",
                    why: "the client pings too often"),
                .closeWhenWritten,
            ])
        #expect(machine.state == .closing)
        #expect(machine.pingReceived(now: Self.start + .seconds(4)).isEmpty, "one GOAWAY")
    }

    @Test func aResponseForgivesPingStrikes() {
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        for second in 0..<10 {
            machine.responseSent()
            #expect(machine.pingReceived(now: Self.start + .seconds(Int64(second))).isEmpty)
        }
    }

    @Test func pingsThatFollowAResponseAreNotControlFramesAndOthersAre() {
        // grpc-go's bandwidth probe: a PING after each response, far more than 200 in 30 s.
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        for step in 0..<1000 {
            machine.responseSent()
            #expect(machine.pingReceived(now: Self.start + .milliseconds(Int64(step))).isEmpty)
        }
        // PINGs that follow no response count with the other control frames: with a ping
        // policy that allows any rate, the 201st frame in the window closes the connection.
        var loose = Self.server(
            handshake: nil, pingPolicy: ServerPingPolicy(minimumInterval: .zero, permitWithoutCalls: true))
        _ = loose.start(now: Self.start)
        for step in 0..<100 {
            #expect(loose.pingReceived(now: Self.start + .milliseconds(Int64(step))).isEmpty)
            #expect(loose.controlFrameReceived(now: Self.start + .milliseconds(Int64(step))).isEmpty)
        }
        let tooMany: [Machine.Action] = [
            .sendGoAway(
                lastStreamID: .rootStream, errorCode: .enhanceYourCalm, debugData: "too_many_control_frames",
                why: "the client sends too many control frames"),
            .abort(reason: "the client sent too many control frames"),
        ]
        #expect(loose.pingReceived(now: Self.start + .seconds(1)) == tooMany)
        #expect(loose.state == .closing)
        #expect(loose.controlFrameReceived(now: Self.start + .seconds(1)).isEmpty, "one GOAWAY")
    }

    @Test func aClientsPingsThatFollowItsRequestsAreNotControlFrames() {
        // A grpc-go server's bandwidth probe: a PING after each DATA of ours.
        var machine = Machine(configuration: .init(peer: "server", controlFrameLimit: ControlFrameLimit()))
        _ = machine.start(now: Self.start)
        _ = machine.streamOpened()
        for step in 0..<1000 {
            machine.requestSent()
            #expect(machine.pingReceived(now: Self.start + .milliseconds(Int64(step))).isEmpty)
        }
        // Unprompted PINGs count: the 201st control frame in the window ends the connection.
        for step in 0..<200 {
            #expect(machine.pingReceived(now: Self.start + .seconds(2) + .milliseconds(Int64(step))).isEmpty)
        }
        #expect(
            machine.pingReceived(now: Self.start + .seconds(3)) == [
                .sendGoAway(
                    lastStreamID: .rootStream, errorCode: .enhanceYourCalm, debugData: "too_many_control_frames",
                    why: "the server sends too many control frames"),
                .abort(reason: "the server sent too many control frames"),
            ])
    }

    @Test func theControlFrameLimitCountsPerWindow() {
        var limit = ControlFrameLimit(maximumCount: 3, window: .seconds(30))
        // Three in the first window; at 30 s a new window starts, and its fourth is refused.
        let seconds: [Int64] = [0, 10, 20, 30, 31, 32, 33]
        let within = seconds.map { limit.record(at: Self.start + .seconds($0)) }
        #expect(within == [true, true, true, true, true, true, false])
    }

    @Test func aClientDrainsOnGoAwayAndClosesWithItsLastCall() {
        var machine = Machine(configuration: .init(peer: "server"))
        _ = machine.start()
        _ = machine.streamOpened()
        #expect(machine.goAwayReceived() == nil)
        #expect(!machine.acceptsCalls)
        #expect(machine.streamClosed(now: .now()) == .closeWhenWritten)

        var idle = Machine(configuration: .init(peer: "server"))
        _ = idle.start()
        #expect(idle.goAwayReceived() == .closeWhenWritten)
    }

    @Test func abortHappensOnce() {
        var machine = Self.server(handshake: nil)
        _ = machine.start(now: Self.start)
        #expect(machine.abort(reason: "bye") == .abort(reason: "bye"))
        #expect(machine.abort(reason: "again") == nil)
        machine.closed()
        #expect(machine.state == .closed)
    }

    @Test func flushesCoalescePerReadBurstAndPerTick() {
        var flushes = FlushCoalescer()
        // Outside a read: one deferred flush per tick.
        #expect(flushes.flushRequested() == true)
        #expect(flushes.flushRequested() == false)
        flushes.deferredFlushRan()
        #expect(flushes.flushRequested() == true)
        flushes.deferredFlushRan()
        // Inside a read: flushed at the end of the burst.
        flushes.readStarted()
        #expect(flushes.flushRequested() == false)
        #expect(flushes.flushRequested() == false)
        #expect(flushes.readEnded() == true)
        flushes.readStarted()
        #expect(flushes.readEnded() == false, "nothing written during this burst")
    }

    @Test func outboundMessagesGatherUntilTheLimit() {
        var outbound = OutboundMessages()
        #expect(outbound.take() == nil)
        let small = ByteBuffer(repeating: 1, count: 10)
        let first = outbound.append(small, trackedBytes: 10)
        #expect(first.isFirst && !first.isFull)
        let second = outbound.append(small, trackedBytes: 0)
        #expect(!second.isFirst && !second.isFull)
        let big = outbound.append(ByteBuffer(repeating: 2, count: OutboundMessages.coalescingLimit), trackedBytes: 5)
        #expect(big.isFull)
        let taken = outbound.take()
        #expect(taken?.data.readableBytes == 20 + OutboundMessages.coalescingLimit)
        #expect(taken?.trackedBytes == 15)
        #expect(outbound.isEmpty)
    }
}
