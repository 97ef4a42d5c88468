package simnet

// WindowCacheLen is the number of cached open windows, for the tests.
func (n *Net) WindowCacheLen() int {
	n.winMu.Lock()
	defer n.winMu.Unlock()
	return len(n.windows)
}
