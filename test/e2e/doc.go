// Package e2e holds Riposte's system tests: riposte dev in process (end
// to end through the HTTP API, Slack, the vendor lab and Temporal), the
// production topology as separate processes, the crash (chaos) and
// bad-input catalogues, and the browser test. They start the system
// through the composition root (internal/system, via cli.StartDev) or as
// the real riposte binary.
//
// New end-to-end tests go here, with the shared helpers of
// harness_test.go (startDevForTest, submit, waitRun, tokenFor) and
// test/harness (processes, ports, binaries); unit tests of a command stay
// next to it in internal/cli.
package e2e
