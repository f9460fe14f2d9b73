package defender

// SetActionsPage sets the page size asked of List MachineActions for a
// test, and returns the function that restores it.
func SetActionsPage(n int) (restore func()) {
	old := defenderActionsPage
	defenderActionsPage = n
	return func() { defenderActionsPage = old }
}
