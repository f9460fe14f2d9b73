package lab

import "time"

// AddUser adds an active account to the fakes' directory (Okta and Entra
// ID), as a real site's directory holds the users its detections name.
// Tests replaying real producers' findings use it for the accounts those
// findings mention. Adding a login that exists is a no-op.
func (l *Lab) AddUser(login, first, last string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range l.users {
		if u.login == login {
			return
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	l.users = append(l.users, &user{
		login: login, first: first, last: last,
		oktaID: "00u" + stableID("okta:"+login, 17), oktaStatus: "ACTIVE", oktaSessions: 2,
		entraID: guid("entra:" + login), entraEnabled: true, entraValid: now.Add(-72 * time.Hour), entraSessions: 2,
		revokedAt: map[string]time.Time{},
	})
}

// AddAWSRole adds an IAM role to the AWS fake, as a real account holds the
// roles its GuardDuty findings name. Adding a role that exists is a no-op.
func (l *Lab) AddAWSRole(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.aws.roles[name]; !ok {
		l.aws.roles[name] = map[string]string{}
	}
}
