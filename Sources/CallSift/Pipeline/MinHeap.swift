/// A binary min-heap over an array.
///
/// - Complexity: O(log n) `push` and `pop`, O(1) `min`.
struct MinHeap<Element: Comparable> {
    private(set) var storage: [Element] = []

    var isEmpty: Bool { storage.isEmpty }
    var count: Int { storage.count }
    var min: Element? { storage.first }

    mutating func push(_ e: Element) {
        storage.append(e)
        var i = storage.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !(storage[i] < storage[parent]) { break }
            storage.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var i = 0
        let n = storage.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && storage[l] < storage[m] { m = l }
            if r < n && storage[r] < storage[m] { m = r }
            if m == i { break }
            storage.swapAt(i, m)
            i = m
        }
        return top
    }
}
