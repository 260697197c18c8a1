import CallSiftCore
import Foundation

/// Genesys Cloud analytics conversation detail records (docs/formats.md, "Genesys Cloud
/// conversation records").
extension AnalysisSettings.InputFormat {
    public static let genesys = Self(rawValue: "genesys")
}

/// What conversation records are skipped as, besides `outbound` and `stale`.
extension SkipKind {
    /// A record without `conversationEnd`: a snapshot of a conversation still going on. The
    /// complete record comes in a later export.
    package static let inProgress = SkipKind(rawValue: "in_progress")
    /// A conversation whose customer's media is not voice (chat, email, message, callback,
    /// ...).
    package static let otherMedia = SkipKind(rawValue: "other_media")
}

/// What Genesys Cloud records are read with besides the records: `--queue-names FILE` and
/// `--attribute-keys` (`AnalysisSettings.formatOptions`).
struct GenesysOptions: Sendable {
    /// The option names, as in `AnalysisSettings.formatOptions` and on the command line.
    static let queueNamesOption = "queue-names"
    static let attributeKeysOption = "attribute-keys"

    /// The customer participant's attributes callsift reads.
    enum AttributeKey: String, CaseIterable {
        case outcome, reason, service
    }

    /// The attribute names, in `AttributeKey` order.
    var attributeKeys: [String] = AttributeKey.allCases.map(\.rawValue)
    /// Queue id → name, from the routing queues API's listing.
    var queueNames: [String: String] = [:]

    init() {}

    /// The options `settings` gives; throws a message naming the flag.
    init(_ settings: AnalysisSettings) throws(OptionError) {
        if let spec = settings.formatOptions[Self.attributeKeysOption] {
            for item in spec.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let k = AttributeKey(rawValue: String(parts[0])), !parts[1].isEmpty else {
                    throw OptionError(
                        description: "--attribute-keys: '\(item)' is not NAME=KEY with NAME one of outcome, reason, service")
                }
                attributeKeys[AttributeKey.allCases.firstIndex(of: k)!] = String(parts[1])
            }
        }
        if let path = settings.formatOptions[Self.queueNamesOption] {
            queueNames = try Self.queueNames(path: path)
        }
    }

    struct OptionError: Error, CustomStringConvertible {
        var description: String
    }

    /// `{"entities": [{"id": ..., "name": ...}, ...]}`, as the routing queues API lists
    /// queues (other keys, such as the page's, are passed over).
    static func queueNames(path: String) throws(OptionError) -> [String: String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw OptionError(description: "--queue-names: cannot read \(path): \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entities = object["entities"] as? [Any]
        else {
            throw OptionError(description: "--queue-names: \(path) is not a queue listing ({\"entities\": [{\"id\", \"name\"}, ...]})")
        }
        var names: [String: String] = [:]
        for case let e as [String: Any] in entities {
            guard let id = e["id"] as? String, let name = e["name"] as? String, !id.isEmpty, !name.isEmpty else {
                throw OptionError(description: "--queue-names: \(path) has an entity without a string id and name")
            }
            names[id] = name
        }
        return names
    }
}

extension GenesysAdapter {
    /// The registry's entry: the centre is `--centre`, which it needs; the options are
    /// checked before any input is read.
    static let entry = FormatEntry(
        format: .genesys, recognises: recognises,
        skipKinds: [.outbound, .inProgress, .otherMedia, .stale],
        needsCentre: true,
        problem: { settings in
            do {
                _ = try GenesysOptions(settings)
                return nil
            } catch {
                return "\(error)"
            }
        },
        makeAdapter: { first, settings in
            guard let centre = settings.centre else { throw needsCentre }
            return try GenesysAdapter(first: first, centre: centre, settings: settings)
        },
        restoreAdapter: { r, settings in try GenesysAdapter(restoring: &r, settings: settings) })

    static let needsCentre = GenesysOptions.OptionError(
        description: "these are Genesys Cloud conversation records, which name no centre: give --centre")

    /// The member of a result page that holds its conversations.
    static let recordsMember = "conversations"

    /// `--format auto`: a result page (an object with a `conversations` member), or
    /// conversation records (an object or array whose first chunk holds both
    /// `conversationId` and `participants`).
    static let recognises: @Sendable (UnsafeRawBufferPointer) -> Bool = { rest in
        guard rest[0] == UInt8(ascii: "{") || rest[0] == UInt8(ascii: "[") else { return false }
        if rest[0] == UInt8(ascii: "{") && isPage(rest) { return true }
        return FormatRegistry.contains(rest, "\"conversationId\"") && FormatRegistry.contains(rest, "\"participants\"")
    }

    /// Whether `bytes` (a file's first, a byte-order mark and white space allowed) open a
    /// result page: an object with the key `conversations` at its top level, found before
    /// any key of a conversation's own (`conversationId`, `participants`) and within these
    /// bytes. The page's members come in any order (a query's `aggregations` can come first).
    static func isPage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return false }
        var depth = 0
        var expectKey = true
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                let start = i + 1
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
                    i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard i < bytes.count else { return false }
                if depth == 1 && expectKey {
                    let key = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                    if key.elementsEqual(recordsMember.utf8) { return true }
                    if key.elementsEqual("conversationId".utf8) || key.elementsEqual("participants".utf8) { return false }
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = b == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return false }
            case UInt8(ascii: ":"): expectKey = false
            case UInt8(ascii: ","): expectKey = true
            default: break
            }
            i += 1
        }
        return false
    }
}
