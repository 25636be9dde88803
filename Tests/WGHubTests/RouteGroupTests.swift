import Foundation
import Hummingbird
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

/// Who may call what is said once per route group (WGAdminAuthMiddleware, WGSiteAuthMiddleware): every route of
/// a group refuses a request without its kind of bearer, and another kind's bearer, before reading a body.
final class RouteGroupTests: XCTestCase {
    func testEveryAdminAndAgentRouteRefusesTheWrongBearer() async throws {
        let t = try TestHub { $0.authFailureLimit = 1000 }  // refusals here are the point, not the throttle
        let token = try t.token(uses: 2)
        let admin = try t.admin()
        let adminRoutes: [(HTTPRequest.Method, String)] = [
            (.get, "/v1/sites"), (.get, "/v1/sites/999"), (.delete, "/v1/sites/999"), (.post, "/v1/sites/999/lan"),
            (.get, "/v1/tokens"), (.post, "/v1/tokens"), (.delete, "/v1/tokens/x"),
            (.get, "/v1/alerts"), (.post, "/v1/alerts"), (.delete, "/v1/alerts/x"), (.post, "/v1/alerts/x/test"),
        ]
        let agentRoutes: [(HTTPRequest.Method, String)] = [(.post, "/v1/health"), (.post, "/v1/probe"), (.post, "/v1/probe/x/result")]
        try await t.app().test(.router) { client in
            let site = try decodeJSON(WGEnrollResponse.self, try await client.postJSON("/v1/enroll", enrollBody(token: token)).body)
            // A body that would be a bad request: the refusal must come first, from the group.
            let junk = ByteBuffer(string: "{not json")
            for (method, path) in adminRoutes {
                for (bearer, status, error) in [(nil, HTTPResponse.Status.unauthorized, "admin_token_required"),
                                                (site.credential, .forbidden, "admin_token_refused"),
                                                (token, .forbidden, "admin_token_refused")] {
                    var headers: HTTPFields = [:]
                    if let bearer { headers[.authorization] = "Bearer \(bearer)" }
                    let r = try await client.execute(uri: path, method: method, headers: headers, body: junk)
                    XCTAssertEqual(r.status, status, "\(method) \(path) with \(bearer?.prefix(4) ?? "none")")
                    XCTAssertEqual(try decodeJSON(WGErrorBody.self, r.body).error, error, "\(method) \(path)")
                }
                // The admin token passes the group: the route's own answer (never a bearer refusal).
                let ok = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(admin)"], body: junk)
                XCTAssertFalse([401, 403].contains(ok.status.code), "\(method) \(path): \(ok.status)")
            }
            for (method, path) in agentRoutes {
                for (bearer, error) in [(nil, "credential_missing"), (admin, "credential_refused"), (token, "credential_refused")] {
                    var headers: HTTPFields = [:]
                    if let bearer { headers[.authorization] = "Bearer \(bearer)" }
                    let r = try await client.execute(uri: path, method: method, headers: headers, body: junk)
                    XCTAssertEqual(r.status, .unauthorized, "\(method) \(path)")
                    XCTAssertEqual(try decodeJSON(WGErrorBody.self, r.body).error, error, "\(method) \(path)")
                }
                let ok = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(site.credential)"], body: junk)
                XCTAssertEqual(ok.status, .badRequest, "\(method) \(path): past the group, the body is read and refused: \(String(buffer: ok.body))")
            }
        }
    }
}
