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
}
