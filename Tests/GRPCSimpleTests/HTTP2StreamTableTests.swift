// The server transport's stream bookkeeping: the open-addressing stream table against a model,
// and the record of how recent streams closed.
import GRPCSimpleHTTP2
import Testing

@Suite struct HTTP2StreamTableTests {
    @Test func matchesAModelUnderRandomInsertsAndRemovals() {
        var rng = XorshiftGenerator(seed: 42)
        for round in 0..<8 {
            var table = StreamTable()
            var live: Set<UInt32> = []
            var nextID: UInt32 = 1
            for _ in 0..<2000 {
                if live.count < 100, Bool.random(using: &rng) {
                    // Mostly increasing IDs, with jumps that collide modulo the capacity.
                    nextID += 2 * UInt32.random(in: 1...(round % 2 == 0 ? 3 : 300), using: &rng)
                    _ = table.insert(StreamEntry(id: nextID, remoteClosed: false, sendWindow: 0, receiveWindow: 0))
                    live.insert(nextID)
                } else if let victim = live.randomElement(using: &rng) {
                    let slot = table.find(victim)
                    #expect(slot != nil)
                    if let slot { table.remove(at: slot) }
                    live.remove(victim)
                }
                #expect(table.count == live.count)
            }
            for id in live {
                #expect(table.find(id).map { table[$0].id } == id)
            }
            #expect(Set(table.streamIDs) == live)
        }
    }

    @Test func closedStreamsRememberTheLastClosures() {
        var closed = ClosedStreams(capacity: 3)
        closed.record(1, .ended)
        closed.record(3, .resetByPeer)
        closed.record(5, .resetByUs)
        closed.record(7, .ended)
        #expect(closed.closure(of: 1) == nil, "forgotten: the oldest of four")
        #expect(closed.closure(of: 3) == .resetByPeer)
        #expect(closed.closure(of: 5) == .resetByUs)
        #expect(closed.closure(of: 7) == .ended)
    }
}
