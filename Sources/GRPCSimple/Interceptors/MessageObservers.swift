import SwiftProtobuf

/// Callbacks that interceptors registered to watch one call's messages.
///
/// Built while the interceptor chain runs, then fixed: the call reads it for every
/// message it sends or receives. Calls without interceptors carry none.
struct MessageObservers: Sendable {
    typealias Observer = @Sendable (any SwiftProtobuf.Message) -> Void

    private(set) var requestObservers: [Observer] = []
    private(set) var responseObservers: [Observer] = []

    var isEmpty: Bool { self.requestObservers.isEmpty && self.responseObservers.isEmpty }

    mutating func observeRequests(_ observer: @escaping Observer) {
        self.requestObservers.append(observer)
    }

    mutating func observeResponses(_ observer: @escaping Observer) {
        self.responseObservers.append(observer)
    }

    func request(_ message: any SwiftProtobuf.Message) {
        for observer in self.requestObservers { observer(message) }
    }

    func response(_ message: any SwiftProtobuf.Message) {
        for observer in self.responseObservers { observer(message) }
    }
}
