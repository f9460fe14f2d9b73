package labkit

// KnownBad lists the lab's canned indicators, for docs and tests.
var KnownBad = struct {
	FileSHA256, FileMD5, IP, Domain, PhishDomain string
}{
	FileSHA256:  "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", // EICAR test file
	FileMD5:     "44d88612fea8a8f36de82e1278abb02f",
	IP:          "203.0.113.77", // C2 of examples/c2-beaconing.json
	Domain:      "cdn-sync.example.net",
	PhishDomain: "pay-corp-example.net", // examples/phishing-click.ndjson
}

// Unanalysed lists objects the lab's VirusTotal knows but no engine has
// analysed yet (every last_analysis_stats count 0, last_analysis_results
// empty): the connector's analysed: false, which shipped playbooks do not
// read as clean.
var Unanalysed = struct {
	FileSHA256, IP, Domain string
}{
	FileSHA256: "968811a03c789c49aacac07d180f6396e9c88ce3cb0b775dccb7fa863739b1ce", // SHA-256 of "riposte lab: a sample no engine has analysed\n"
	IP:         "198.51.100.201",
	Domain:     "signin-refresh.example.net",
}
