/// Decides when to send WINDOW_UPDATE frames for the bytes a peer sends us.
///
/// The HTTP/2 handler sits on the connection channel without a stream multiplexer, so
/// gRPC Simple grants window itself. Bytes that became part of a message still waiting
/// for the application count as held; every other byte (frame padding, a message being
/// reassembled, messages the application has taken) is given back. A reader that stops
/// reading therefore stops the sender after at most `targetWindow` bytes, while a message
/// larger than the window still arrives (reassembly bytes are released; the maximum
/// message size bounds them).
///
/// Updates are batched: none is sent until at least half the target can be granted.
struct InboundFlowController: Equatable {
    /// The window we aim to keep open for the peer.
    let targetWindow: Int
    /// How many more bytes the peer may send right now.
    private(set) var window: Int
    /// Bytes of complete messages the application has not taken yet.
    private(set) var heldBytes: Int = 0

    /// - Parameters:
    ///   - targetWindow: The window to keep open.
    ///   - initialWindow: The window the peer starts with (what SETTINGS granted).
    init(targetWindow: Int, initialWindow: Int) {
        self.targetWindow = targetWindow
        self.window = initialWindow
    }

    /// The peer sent `count` flow-controlled bytes.
    mutating func received(_ count: Int) {
        self.window -= count
    }

    /// `count` received bytes are now a complete message waiting for the application.
    mutating func held(_ count: Int) {
        self.heldBytes += count
    }

    /// The application took a message of `count` bytes.
    mutating func released(_ count: Int) {
        self.heldBytes -= count
    }

    /// The increment to send in a WINDOW_UPDATE now, if one is due; the window is
    /// considered granted once this returns.
    mutating func windowUpdate() -> Int? {
        let grantable = self.targetWindow - self.heldBytes - self.window
        guard grantable >= self.targetWindow / 2 else { return nil }
        self.window += grantable
        return grantable
    }
}
