import Foundation
import Yams
@testable import VeilAPI

/// `openapi.yaml` (the copy compiled into VeilAPI) and a checker for responses against it:
/// the subset of JSON Schema the document uses (`$ref`, `type` incl. lists, `oneOf`, `enum`,
/// `const`, `pattern`, `properties`/`required`, `items`/`prefixItems`). Stricter than JSON
/// Schema on one point, on purpose: an object may not carry a property the document does not list.
struct OpenAPIDocument: @unchecked Sendable {
    struct Operation {
        var method: String
        var template: String
        var segments: [String]
        var definition: [String: Any]
    }

    let root: [String: Any]
    let operations: [Operation]

    static let shared: OpenAPIDocument = {
        let text = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
        do {
            return try OpenAPIDocument(yaml: text)
        } catch {
            fatalError("openapi.yaml does not load: \(error)")
        }
    }()

    /// Statuses any operation may answer with an `Error` body (wrong key, disabled account, a
    /// non-integer id, an oversized body, a rate limit); the document says so in its description.
    static let sharedErrorStatuses: Set<Int> = [401, 403, 404, 413, 429]

    init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any], let paths = root["paths"] as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        self.root = root
        var operations: [Operation] = []
        for (template, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            let shared = item["parameters"]
            for method in ["get", "post", "put", "patch", "delete"] {
                guard var definition = item[method] as? [String: Any] else { continue }
                if definition["parameters"] == nil, let shared { definition["parameters"] = shared }
                operations.append(Operation(method: method.uppercased(), template: template,
                                            segments: template.split(separator: "/").map(String.init), definition: definition))
            }
        }
        self.operations = operations
    }

    /// The operation serving `path`: literal segments beat `{parameters}`.
    func operation(method: String, path: String) -> Operation? {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/").map(String.init) } ?? []
        let candidates = operations.filter { operation in
            operation.method == method && operation.segments.count == segments.count
                && zip(operation.segments, segments).allSatisfy { template, actual in template.hasPrefix("{") || template == actual }
        }
        return candidates.min { $0.segments.filter { $0.hasPrefix("{") }.count < $1.segments.filter { $0.hasPrefix("{") }.count }
    }

    func resolve(_ node: Any) -> Any {
        guard let object = node as? [String: Any], let reference = object["$ref"] as? String, reference.hasPrefix("#/") else { return node }
        var current: Any = root
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let next = (current as? [String: Any])?[String(part)] else { return node }
            current = next
        }
        return resolve(current)
    }

    /// Problems with a response; empty when it matches the document (or the route is not one of
    /// the document's, which the router-versus-document test reports instead).
    func problems(method: String, path: String, status: Int, contentType: String?, body: String) -> [String] {
        guard let operation = operation(method: method, path: path) else { return [] }
        let where_ = "\(method) \(operation.template) → \(status)"
        let responses = operation.definition["responses"] as? [String: Any] ?? [:]
        let declared = responses[String(status)] ?? responses["default"]
        guard let declared else {
            guard Self.sharedErrorStatuses.contains(status) else { return ["\(where_): status not documented"] }
            return validateJSON(body, schema: ["$ref": "#/components/schemas/Error"], where_)
        }
        guard let response = resolve(declared) as? [String: Any] else { return ["\(where_): unreadable response"] }
        guard let content = response["content"] as? [String: Any] else { return body.isEmpty ? [] : ["\(where_): body not documented"] }
        let media = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let match = content.keys.first { key in
            key == media || (key.hasSuffix("/*") && media.hasPrefix(String(key.dropLast(1))))
        }
        guard let match else { return ["\(where_): content type \(media) not documented (\(content.keys.sorted()))"] }
        guard match == "application/json", let schema = (content[match] as? [String: Any])?["schema"] else { return [] }
        return validateJSON(body, schema: schema, where_)
    }

    func validateJSON(_ body: String, schema: Any, _ where_: String) -> [String] {
        guard let value = try? JSON.parse(Array(body.utf8)) else { return ["\(where_): body is not JSON: \(body.prefix(200))"] }
        return validate(value, schema, at: where_)
    }

    func validate(_ value: JSON, _ node: Any, at path: String) -> [String] {
        guard let schema = resolve(node) as? [String: Any] else { return [] }
        if let options = schema["oneOf"] as? [Any] {
            let passing = options.filter { validate(value, $0, at: path).isEmpty }
            return passing.isEmpty ? ["\(path): matches none of oneOf"] : []
        }
        var problems: [String] = []
        if let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map({ [$0] }), !types.contains(where: { Self.has(value, type: $0) }) {
            return ["\(path): \(value) is not \(types.joined(separator: "|"))"]
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == value.string }) {
            problems.append("\(path): \(value) not in \(allowed)")
        }
        if let constant = schema["const"] as? Bool, value.bool != constant { problems.append("\(path): not \(constant)") }
        if let pattern = schema["pattern"] as? String, let text = value.string, text.range(of: pattern, options: .regularExpression) == nil {
            problems.append("\(path): \(text) does not match \(pattern)")
        }
        switch value {
        case .object(let members):
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for required in schema["required"] as? [String] ?? [] where !members.contains(where: { $0.0 == required }) {
                problems.append("\(path): missing \(required)")
            }
            for (key, member) in members {
                guard let propertySchema = properties[key] else {
                    if schema["properties"] != nil { problems.append("\(path): undocumented property \(key)") }
                    continue
                }
                problems += validate(member, propertySchema, at: "\(path).\(key)")
            }
        case .array(let items):
            if let prefix = schema["prefixItems"] as? [Any] {
                for (index, item) in items.enumerated() where index < prefix.count { problems += validate(item, prefix[index], at: "\(path)[\(index)]") }
            } else if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { problems += validate(item, itemSchema, at: "\(path)[\(index)]") }
            }
        default: break
        }
        return problems
    }

    static func has(_ value: JSON, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .int): return true
        case ("integer", .double(let number)): return number.rounded() == number
        case ("number", .int), ("number", .double): return true
        default: return false
        }
    }
}
