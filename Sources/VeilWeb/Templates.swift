import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VeilCore

/// The page templates, compiled into the binary (`Templates/*.mustache`). Mustache escapes every
/// `{{value}}` for HTML; only `{{{…}}}` — markup already written and escaped — is not.
struct Templates: Sendable {
    let library: MustacheLibrary

    static let shared = Templates()

    static let sources: [String: [UInt8]] = [
        "message": PackageResources.message_mustache,
        "login": PackageResources.login_mustache,
        "mfa": PackageResources.mfa_mustache,
        "register": PackageResources.register_mustache,
        "activate": PackageResources.activate_mustache,
        "custom_alias": PackageResources.custom_alias_mustache,
        "trash": PackageResources.trash_mustache,
        "alias": PackageResources.alias_mustache,
        "settings": PackageResources.settings_mustache,
        "mailboxes": PackageResources.mailboxes_mustache,
        "domains": PackageResources.domains_mustache,
        "notifications": PackageResources.notifications_mustache,
        "import": PackageResources.import_mustache,
        "admin": PackageResources.admin_mustache,
        "import_result": PackageResources.import_result_mustache,
        "quarantine": PackageResources.quarantine_mustache,
        "domain_dns": PackageResources.domain_dns_mustache,
        "domain_info": PackageResources.domain_info_mustache,
        "sudo": PackageResources.sudo_mustache,
        "mfa_setup": PackageResources.mfa_setup_mustache,
        "recovery_codes": PackageResources.recovery_codes_mustache,
        "api_keys": PackageResources.api_keys_mustache,
        "pricing": PackageResources.pricing_mustache,
        "setup_done": PackageResources.setup_done_mustache,
    ]

    init() {
        var library = MustacheLibrary()
        for (name, bytes) in Self.sources {
            // The templates ship with the binary and are parsed by a test: a failure here is a
            // build defect, not input.
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                preconditionFailure("template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    /// A page inside the layout.
    func render(_ name: String, _ data: [String: Any], layout: Layout, status: HTTPResponse.Status = .ok) -> Response {
        let content = library.render(data, withTemplate: name) ?? ""
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: layout.write(content: content))))
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension Templates {
    /// "2 minutes ago", as the API's notifications say it.
    static func ago(_ date: Date, now: Date = Date()) -> String {
        RelativeTime.ago(seconds: Int64(now.timeIntervalSince(date)))
    }
}
