package defender

import (
	"fmt"
	"time"

	"github.com/riposte-dev/riposte/internal/labkit"
)

// SetActionsPage sets the page size asked of List MachineActions for a
// test, and returns the function that restores it.
func SetActionsPage(n int) (restore func()) {
	old := defenderActionsPage
	defenderActionsPage = n
	return func() { defenderActionsPage = old }
}

// AddActions gives the fake's machine n more machine actions (succeeded
// antivirus scans, one a second from start), for a test of its paging.
func (fk *Fake) AddActions(machineID string, n int, start time.Time) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	for _, h := range fk.hosts() {
		if h.id != machineID {
			continue
		}
		for i := range n {
			at := start.Add(time.Duration(i) * time.Second).UTC()
			h.actions = append(h.actions, &fakeAction{ID: labkit.GUID(fmt.Sprint(machineID, "#scan", len(h.actions))), Type: "RunAntiVirusScan",
				Scope: "Quick", Requestor: "lab-app", Comment: "lab", Status: "Succeeded", MachineID: h.id, DNSName: h.FQDN, Created: at, Updated: at})
		}
	}
}
