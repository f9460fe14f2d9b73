package activities

// CheckedActionKeeping is checkedAction for tests: keep stands in for the
// worker's synchronous heartbeat.
var CheckedActionKeeping = checkedAction
