/// How random aliases are generated (setting `alias_generator`).
public enum AliasGenerator: String, Sendable, CaseIterable, Codable {
    case word
    case uuid
}

/// How the sender is shown in `From` of forwarded mail (setting `sender_format`, spec/mail.md ).
public enum SenderFormat: String, Sendable, CaseIterable, Codable {
    case at = "AT"
    case a = "A"
    case nameOnly = "NAME_ONLY"
    case atOnly = "AT_ONLY"
    case noName = "NO_NAME"
}

/// The random part of suffixes offered for custom aliases (setting `random_alias_suffix`).
public enum RandomAliasSuffix: String, Sendable, CaseIterable, Codable {
    case word
    case randomString = "random_string"
}

/// What the sending MTA hears when mail hits a disabled alias or blocked contact (spec/mail.md ).
public enum BlockBehaviour: String, Sendable, CaseIterable, Codable {
    case return2xx = "return_2xx"
    case return5xx = "return_5xx"
}
