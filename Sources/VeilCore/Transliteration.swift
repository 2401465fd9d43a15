import Foundation

enum Transliteration {
    /// Best-effort ASCII form of any text ("Ünï" → "Uni", "汉字" → "han zi"); what cannot be
    /// transliterated (emoji, symbols) is dropped.
    static func ascii(_ text: String) -> String {
        if text.allSatisfy(\.isASCII) { return text }
        let latin = text.applyingTransform(StringTransform("Any-Latin; Latin-ASCII"), reverse: false) ?? text
        var result = ""
        for scalar in latin.unicodeScalars where scalar.isASCII {
            result.unicodeScalars.append(scalar)
        }
        return result
    }
}
