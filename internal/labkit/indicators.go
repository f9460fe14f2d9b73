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
