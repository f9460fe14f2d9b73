package workflows

// TargetKeys is targetKeys, for the external tests.
var TargetKeys = targetKeys
