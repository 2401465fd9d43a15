import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore
import VeilServices
import VeilStore

/// Notifications, settings, export and import (spec/api.md §8).
struct SettingRoutes {
    let services: Services
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.get("notifications") { request, context in try notifications(request, context) }
        group.writing(.post, "notifications/:notification_id") { _, context in try markRead(context) }
        group.writing(.post, "notifications/:notification_id/read") { _, context in try markRead(context) }
        group.get("setting") { _, context in try setting(context) }
        group.writing(.patch, "setting") { request, context in try await updateSetting(request, context) }
        group.get("v2/setting/domains") { _, context in try domains(context, legacy: false) }
        group.get("setting/domains") { _, context in try domains(context, legacy: true) }
        group.get("export/data") { _, context in try exportData(context) }
        group.get("export/aliases") { _, context in try exportAliases(context) }
        group.writing(.post, "import/aliases") { request, context in try await importAliases(request, context) }
    }

    // MARK: Notifications

    func notifications(_ request: Request, _ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        let page = try request.pageId("page")
        let (items, more) = try store.notificationPage(userId: userId, page: page)
        let now = Date()
        return .json([
            "more": .bool(more),
            "notifications": .array(items.map { item in
                [
                    "id": .optional(item.id),
                    "title": .optional(item.title),
                    "message": .string(item.message),
                    "read": .bool(item.read),
                    "created_at": .string(RelativeTime.ago(seconds: Int64(now.timeIntervalSince(item.createdAt)))),
                ]
            }),
        ])
    }

    func markRead(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard try store.markNotificationRead(id: try context.pathId("notification_id"), userId: userId) else { throw APIError.forbidden }
        return .json(["done": true])
    }

    // MARK: Settings

    func settingObject(_ user: User, userId: Int64) throws -> JSON {
        [
            "alias_generator": .string(user.aliasGenerator.rawValue),
            "notification": .bool(user.notification),
            "random_alias_default_domain": .string(try services.defaultRandomDomain(for: user, userId: userId).domain),
            "sender_format": .string(user.senderFormat.rawValue),
            "random_alias_suffix": .string(user.randomAliasSuffix.rawValue),
        ]
    }

    func setting(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        return .json(try settingObject(user, userId: userId))
    }

    /// Every field is checked before any is stored, so a bad request changes nothing.
    func updateSetting(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        let body = try await request.optionalObject(context: context)
        var change = SettingChange()
        if let value = body["notification"] {
            guard let flag = value.bool else { throw APIError.badRequest("notification must be a boolean") }
            change.notification = flag
        }
        if let value = body["alias_generator"] {
            guard let parsed = value.string.flatMap(AliasGenerator.init(rawValue:)) else { throw APIError.badRequest("Invalid alias_generator") }
            change.aliasGenerator = parsed
        }
        if let value = body["sender_format"] {
            guard let parsed = value.string.flatMap(SenderFormat.init(rawValue:)) else { throw APIError.badRequest("Invalid sender_format") }
            change.senderFormat = parsed
        }
        if let value = body["random_alias_suffix"] {
            guard let parsed = value.string.flatMap(RandomAliasSuffix.init(rawValue:)) else { throw APIError.badRequest("Invalid random_alias_suffix") }
            change.randomAliasSuffix = parsed
        }
        if let value = body["random_alias_default_domain"] { change.randomAliasDefaultDomain = value.string ?? "" }
        let updated: User
        do {
            updated = try services.applySettings(change, user: user, userId: userId)
        } catch let refusal as SettingRefusal {
            throw APIError.badRequest(refusal.message)
        }
        return .json(try settingObject(updated, userId: userId))
    }

    func domains(_ context: APIContext, legacy: Bool) throws -> Response {
        let (user, userId) = try context.requireUser()
        let builtIn = services.builtInDomains(for: user)
        let custom = try store.verifiedCustomDomains(userId: userId).map(\.domain)
        if legacy {
            return .json(.array(builtIn.map { [true, .string($0)] } + custom.map { [false, .string($0)] }))
        }
        return .json(.array(builtIn.map { ["domain": .string($0), "is_custom": false] }
            + custom.map { ["domain": .string($0), "is_custom": true] }))
    }

    // MARK: Export and import

    func exportData(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        let export = try services.accountExport(user: user, userId: userId)
        return .json([
            "email": .string(export.email),
            "name": .optional(export.name),
            "aliases": .array(export.aliases.map { ["email": .string($0.email), "enabled": .bool($0.enabled)] }),
            "custom_domains": .array(export.customDomains.map(JSON.string)),
            "apps": [],
        ])
    }

    func exportAliases(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        let text = AliasImporter.exportCSV(try store.exportedAliases(userId: userId))
        return Response(status: .ok, headers: [.contentType: "text/csv", .contentDisposition: "attachment; filename=aliases.csv"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The body is the CSV file itself (any content type).
    func importAliases(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        guard services.rateLimiter.allow("import:\(userId)", limits: [(10, .seconds(3600))]) else { throw APIError.rateLimited }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "request body too large")
        }
        guard buffer.readableBytes > 0 else { throw APIError.emptyBody }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw APIError.badRequest("The file must be UTF-8 text")
        }
        let importer = AliasImporter(store: store, quota: services.configuration.quota)
        let summary: AliasImporter.Summary
        do {
            summary = try importer.run(csv: text, userId: userId)
        } catch let refusal as AliasImporter.Refusal {
            throw APIError.badRequest(refusal.description)
        }
        return .json([
            "created": .int(Int64(summary.created)),
            "skipped": .int(Int64(summary.skipped)),
            "errors": .array(summary.errors.map { ["line": .int(Int64($0.line)), "alias": .string($0.alias), "error": .string($0.error)] }),
        ])
    }
}
