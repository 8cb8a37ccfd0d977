/// What the server has sent on a stream (its half of RFC 9113 §5.1's state machine).
public enum LocalStreamState: Sendable {
    /// No response HEADERS yet.
    case idle
    /// Response HEADERS sent; DATA may follow.
    case open
    /// Trailers (END_STREAM) are queued behind DATA that waits for flow-control window.
    case closing
    /// Trailers (END_STREAM) written.
    case closed
}

/// One stream of the table: its two halves and its windows. A plain value (no references), so
/// the table moves entries without reference counting; DATA waiting for window lives beside the
/// table (`ServerConnection`), for the few streams that have any.
///
/// The RFC 9113 §5.1 state is derived: open (neither half closed), half-closed (remote)
/// (`remoteClosed`, local not closed), half-closed (local), closed (both: the stream leaves the
/// table). Idle streams are never in the table: a client stream ID above the highest one seen is
/// idle, a lower one absent from the table is closed.
public struct StreamEntry: Sendable {
    public var id: UInt32
    /// The client sent END_STREAM.
    public var remoteClosed: Bool
    public var local: LocalStreamState
    /// How much DATA we may still send (§6.9; may go negative after a SETTINGS change).
    public var sendWindow: Int
    /// How much DATA the client may still send us.
    public var receiveWindow: Int
    /// DATA received since our last WINDOW_UPDATE for this stream.
    public var receivedSinceUpdate: Int
    /// Response DATA waits for window (in `ServerConnection`'s pending output).
    public var hasPendingOutput: Bool
    /// A value the application attaches to the stream (its route, say); 0 by default.
    public var tag: UInt8

    static var empty: StreamEntry { StreamEntry(id: 0, remoteClosed: false, sendWindow: 0, receiveWindow: 0) }

    public init(id: UInt32, remoteClosed: Bool, sendWindow: Int, receiveWindow: Int) {
        self.id = id
        self.remoteClosed = remoteClosed
        self.local = .idle
        self.sendWindow = sendWindow
        self.receiveWindow = receiveWindow
        self.receivedSinceUpdate = 0
        self.hasPendingOutput = false
        self.tag = 0
    }
}

/// The active streams of one connection: an open-addressing hash table keyed by stream ID.
///
/// Client stream IDs are odd and increasing, so `id >> 1` modulo a power-of-two capacity puts
/// consecutive streams in consecutive slots: lookups almost never probe. Robin Hood linear
/// probing (an entry never sits further from its home slot than the one it passes), so a removal
/// shifts back only the entries displaced by the removed one and stops at the first entry in its
/// home slot: O(1) for the usual table of consecutive streams. Grows by doubling when half full;
/// starts small, so an idle connection costs little memory. Slot indices are valid until the
/// next insert or remove.
public struct StreamTable: Sendable {
    private var slots: [StreamEntry]
    public private(set) var count = 0

    public init(initialCapacity: Int = 8) {
        var capacity = 1
        while capacity < initialCapacity { capacity <<= 1 }
        self.slots = Array(repeating: .empty, count: capacity)
    }

    private var mask: Int { self.slots.count - 1 }

    private func home(_ id: UInt32) -> Int { Int(id >> 1) & self.mask }

    /// The slot holding stream `id`, if it is in the table.
    public func find(_ id: UInt32) -> Int? {
        guard id != 0 else { return nil }
        var slot = self.home(id)
        while true {
            let found = self.slots[slot].id
            if found == id { return slot }
            if found == 0 { return nil }
            slot = (slot + 1) & self.mask
        }
    }

    /// Adds a stream that is not in the table yet; returns its slot.
    public mutating func insert(_ entry: StreamEntry) -> Int {
        if (self.count + 1) * 2 > self.slots.count {
            self.grow()
        }
        var entry = entry
        var slot = self.home(entry.id)
        var distance = 0
        var inserted: Int?
        while self.slots[slot].id != 0 {
            let residentDistance = (slot - self.home(self.slots[slot].id)) & self.mask
            if residentDistance < distance {
                // Robin Hood: the entry further from home takes the slot, the resident moves on.
                swap(&entry, &self.slots[slot])
                if inserted == nil { inserted = slot }
                distance = residentDistance
            }
            slot = (slot + 1) & self.mask
            distance += 1
        }
        self.slots[slot] = entry
        self.count += 1
        return inserted ?? slot
    }

    /// Removes the stream in `slot`, shifting back the entries displaced past it (backward-shift
    /// deletion: stops at an empty slot or an entry in its home slot).
    public mutating func remove(at slot: Int) {
        var hole = slot
        while true {
            let next = (hole + 1) & self.mask
            let id = self.slots[next].id
            if id == 0 || self.home(id) == next { break }
            self.slots[hole] = self.slots[next]
            hole = next
        }
        self.slots[hole] = .empty
        self.count -= 1
    }

    public subscript(slot: Int) -> StreamEntry {
        get { self.slots[slot] }
        _modify { yield &self.slots[slot] }
    }

    /// Calls `body` on every stream in the table (in slot order).
    public mutating func forEach(_ body: (inout StreamEntry) throws(HTTP2ConnectionError) -> Void)
        throws(HTTP2ConnectionError)
    {
        for slot in self.slots.indices where self.slots[slot].id != 0 {
            try body(&self.slots[slot])
        }
    }

    private mutating func grow() {
        let old = self.slots
        self.slots = Array(repeating: .empty, count: old.count * 2)
        self.count = 0
        for entry in old where entry.id != 0 {
            _ = self.insert(entry)
        }
    }
}
