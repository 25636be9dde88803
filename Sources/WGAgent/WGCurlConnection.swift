import CCurl
import Synchronization

/// libcurl easy handles kept between requests of one client, so the reporter's next report goes over the
/// connection (and TLS session) the last one opened instead of a new TCP + TLS handshake every interval.
/// A request leases a handle (reset: no option of the last request carries over; the connection cache stays);
/// concurrent requests get handles of their own, and one idle handle is kept.
final class WGCurlConnection: Sendable {
    /// A handle is used by one request at a time (leased), so passing it between threads is safe.
    struct Handle: @unchecked Sendable { let raw: UnsafeMutableRawPointer }
    private let idle = Mutex<Handle?>(nil)

    init() {}

    deinit {
        if let h = idle.withLock({ $0.take() }) { curl_easy_cleanup(h.raw) }
    }

    /// A handle ready for a request's options; nil only when libcurl cannot make one.
    func lease() -> UnsafeMutableRawPointer? {
        if let h = idle.withLock({ $0.take() }) {
            curl_easy_reset(h.raw)
            return h.raw
        }
        return curl_easy_init()
    }

    /// Back for the next request; a second idle handle is closed.
    func release(_ raw: UnsafeMutableRawPointer) {
        let extra = idle.withLock { i -> Handle? in
            if i == nil { i = Handle(raw: raw); return nil }
            return Handle(raw: raw)
        }
        if let extra { curl_easy_cleanup(extra.raw) }
    }
}
