package embedded

// Crash stops the server the way a killed process does: no dump is
// written; only what the journal holds survives.
func (m *MySQL) Crash() {
	m.close.Do(func() {
		m.stop()
		if m.journal != nil {
			_ = m.journal.close() // what reached the file is all a killed process leaves
		}
	})
}
