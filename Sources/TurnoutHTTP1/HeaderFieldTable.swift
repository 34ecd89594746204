/// Preallocated per-connection storage for the header fields of one parsed head.
///
/// Allocated once with `capacity` = `HeadLimits.maxHeaders` and reused for every head parsed on the connection:
/// each parse overwrites it, so the fields of the previous head are gone after the next `parse`.
/// Belongs to one connection (one thread); not `Sendable`.
public final class HeaderFieldTable {
    /// The most fields the table holds.
    public let capacity: Int
    /// Number of fields of the last parsed head.
    public private(set) var count: Int = 0
    @usableFromInline let storage: UnsafeMutablePointer<HeaderField>

    public init(capacity: Int) {
        precondition(capacity >= 0, "HeaderFieldTable capacity must not be negative")
        self.capacity = capacity
        self.storage = UnsafeMutablePointer<HeaderField>.allocate(capacity: max(capacity, 1))
    }

    deinit {
        storage.deallocate()
    }

    /// The field at `index` (0-based, in order of arrival).
    @inlinable
    public subscript(index: Int) -> HeaderField {
        precondition(index >= 0 && index < count, "HeaderFieldTable index out of range")
        return storage[index]
    }

    /// Forgets all fields; the storage is kept.
    public func removeAll() {
        count = 0
    }

    /// Appends a field; false when the table is full.
    func append(_ field: HeaderField) -> Bool {
        guard count < capacity else { return false }
        (storage + count).initialize(to: field)
        count += 1
        return true
    }

    /// Marks the field at `index` as not to be forwarded.
    func markHopByHop(_ index: Int) {
        storage[index].isHopByHop = true
    }
}
