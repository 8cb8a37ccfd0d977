import Testing

@testable import GRPCSimple

/// The explicit state machines, each transition.
@Suite struct StateMachineTests {
    @Test func serverStreamUnaryLifecycle() {
        var machine = ServerStreamStateMachine()
        #expect(machine.receiveMessageBytes() == .deliver)
        #expect(machine.receiveEnd() == .deliver)
        #expect(machine.receiveMessageBytes() == .protocolViolation)
        #expect(machine.receiveEnd() == .protocolViolation)
        #expect(machine.sendMessage() == .writeHeadersThenMessage)
        #expect(machine.sendMessage() == .writeMessage)
        #expect(machine.sendStatus() == .writeTrailers)
        #expect(machine.isFinished)
        #expect(machine.sendMessage() == .drop)
        #expect(machine.sendStatus() == .none)
    }

    @Test func serverStreamTrailersOnlyWhenNothingWasSent() {
        var machine = ServerStreamStateMachine()
        #expect(machine.sendStatus() == .writeTrailersOnly)
        // The client may still be sending: its bytes are dropped, not a violation.
        #expect(machine.receiveMessageBytes() == .drop)
        #expect(machine.receiveEnd() == .drop)
    }

    @Test func serverStreamReset() {
        var machine = ServerStreamStateMachine()
        _ = machine.sendMessage()
        machine.reset()
        #expect(machine.isFinished)
        #expect(machine.sendMessage() == .drop)
        #expect(machine.sendStatus() == .none)
        #expect(machine.receiveMessageBytes() == .protocolViolation)
    }

    @Test func flowControlBatchesUpdates() {
        var flow = InboundFlowController(targetWindow: 1000, initialWindow: 1000)
        flow.received(400)
        #expect(flow.windowUpdate() == nil)  // 400 < half
        flow.received(100)
        #expect(flow.windowUpdate() == 500)
        #expect(flow.window == 1000)
    }

    @Test func flowControlHoldsWindowForUnreadMessages() {
        var flow = InboundFlowController(targetWindow: 1000, initialWindow: 1000)
        flow.received(900)
        flow.held(900)  // a reader that does not read
        #expect(flow.windowUpdate() == nil)
        #expect(flow.window == 100)
        flow.released(900)
        #expect(flow.windowUpdate() == 900)
    }

    @Test func flowControlReleasesReassemblyBytes() {
        // A message larger than the window still arrives: bytes of an incomplete
        // message are not held.
        var flow = InboundFlowController(targetWindow: 1000, initialWindow: 1000)
        flow.received(1000)
        #expect(flow.windowUpdate() == 1000)
    }

    @Test func flowControlOpensTheConnectionWindow() {
        var flow = InboundFlowController(targetWindow: 1_048_576, initialWindow: 65535)
        #expect(flow.windowUpdate() == 1_048_576 - 65535)
    }

    @Test func backoffFollowsTheSpec() {
        var policy = ConnectionBackoff()
        policy.initialBackoff = .seconds(1)
        var noJitter = ConnectionBackoff.Iterator(policy: policy, random: { 0 })
        let delays = (0..<12).map { _ in noJitter.next() }
        #expect(delays[0] == .seconds(1))
        #expect(delays[1] == .milliseconds(1600))
        #expect(delays[2] == .milliseconds(2560))
        #expect(delays.last == .seconds(120))
        var maxJitter = ConnectionBackoff.Iterator(policy: policy, random: { 1 })
        #expect(maxJitter.next() == .milliseconds(1200))
        var minJitter = ConnectionBackoff.Iterator(policy: policy, random: { -1 })
        #expect(minJitter.next() == .milliseconds(800))
    }

    @Test func callOptionsPickTheEarlierDeadline() {
        let now = ContinuousClock.now
        let options = CallOptions(timeout: .seconds(5), deadline: now.advanced(by: .seconds(1)))
        #expect(options.effectiveDeadline(now: now) == now.advanced(by: .seconds(1)))
        #expect(CallOptions(timeout: .seconds(2)).effectiveDeadline(now: now) == now.advanced(by: .seconds(2)))
        #expect(CallOptions().effectiveDeadline(now: now) == nil)
    }
}
