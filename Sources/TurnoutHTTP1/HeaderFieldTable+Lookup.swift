extension HeaderFieldTable {
    /// Index of the last field of `kind` that is forwarded (not hop-by-hop), if any.
    func lastForwardedIndex(of kind: KnownHeader) -> Int? {
        var index = count - 1
        while index >= 0 {
            if self[index].kind == kind && !self[index].isHopByHop { return index }
            index -= 1
        }
        return nil
    }

    /// Index of the first field of `kind`, if any.
    public func firstIndex(of kind: KnownHeader) -> Int? {
        for index in 0..<count where self[index].kind == kind {
            return index
        }
        return nil
    }

    /// Index of the first field named `lowercaseName` (ASCII case ignored), if any; `source` is the buffer the
    /// head was parsed from. For the fields `KnownHeader` does not name.
    public func firstIndex(named lowercaseName: StaticString, in source: UnsafeRawBufferPointer) -> Int? {
        for index in 0..<count where source.slice(self[index].name).equalsIgnoringCase(lowercaseName) {
            return index
        }
        return nil
    }

    /// Whether a field of `kind` lists `lowercaseToken` among its comma-separated elements (ASCII case ignored),
    /// as `Upgrade: websocket` does; `source` is the buffer the head was parsed from.
    public func containsToken(
        _ lowercaseToken: StaticString, inFieldsOf kind: KnownHeader, in source: UnsafeRawBufferPointer
    ) -> Bool {
        for index in 0..<count where self[index].kind == kind {
            var elements = FieldListElements(source.slice(self[index].value))
            while let element = elements.next() {
                if element.equalsIgnoringCase(lowercaseToken) { return true }
            }
        }
        return false
    }
}
