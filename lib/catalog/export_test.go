package catalog

// Steps of ReserveOrder, for tests that stop it midway as a crash would.
var (
	BeginHold = (*Store).beginHold
	Decide    = (*Store).decide
)
