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
    /// How many streams are in the table.
    public private(set) var count = 0

    /// An empty table with room for `initialCapacity` streams before it first grows.
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

    /// The stream in `slot` (from `find` or `insert`).
    public subscript(slot: Int) -> StreamEntry {
        get { self.slots[slot] }
        _modify { yield &self.slots[slot] }
    }

    /// Calls `body` on every stream in the table (in slot order).
    public mutating func forEach<Failure: Error>(
        _ body: (inout StreamEntry) throws(Failure) -> Void
    ) throws(Failure) {
        for slot in self.slots.indices where self.slots[slot].id != 0 {
            try body(&self.slots[slot])
        }
    }

    /// The identifiers of every stream in the table.
    public var streamIDs: [UInt32] {
        self.slots.compactMap { $0.id == 0 ? nil : $0.id }
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
