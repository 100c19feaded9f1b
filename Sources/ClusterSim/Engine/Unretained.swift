/// A reference to a part the network owns for the whole run (the network itself, a pod's stack), used on
/// the packet path without reference counting.
///
/// Swift retains and releases a class reference around each use it cannot prove safe, and an
/// `unowned(unsafe)` property is turned into a strong reference, a retain and a release, at every use: on
/// large-100-nodes that was a quarter of the run's time. The parts reached this way are kept alive by
/// `Network` for as long as anything can call them, so the body runs with the object guaranteed alive by
/// its owner (`Unmanaged._withUnsafeGuaranteedRef`, the standard library's way to say so) and nothing is
/// counted.
struct Unretained<Object: AnyObject> {
    private let reference: Unmanaged<Object>

    init(_ object: Object) { reference = .passUnretained(object) }

    /// Runs `body` with the object.
    @inline(__always)
    func callAsFunction<Result>(_ body: (Object) -> Result) -> Result {
        reference._withUnsafeGuaranteedRef(body)
    }
}
