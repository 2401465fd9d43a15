import Foundation
@testable import VeilStore

/// A real SQLite file in a fresh temporary folder (left for the OS to clean, so that a store
/// opened from it outlives this value).
final class TestDatabase {
    let directory: URL
    let path: String

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("veil-test-\(UUID().uuidString)")
        path = directory.appendingPathComponent("veil.sqlite").path
    }

    func open(migrate: Bool = true) throws -> Store {
        let store = try Store(path: path)
        if migrate { try store.migrate() }
        return store
    }
}
