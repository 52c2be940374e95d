package control

// AuthProblems checks the content-authentication files together
// (docs/antispam.md): a file that asks for a refusal its check cannot give
// would silently refuse nothing, so it is a problem, for smtpd's start and
// reload and for goqmail check alike.
func AuthProblems(s *Snapshot) Problems {
	spf, dkim := s.Number(SPFCheck) == 1, s.Number(DKIMCheck) == 1
	dmarc, reject := s.Number(DMARCCheck) == 1, s.Number(DMARCReject) == 1
	var ps Problems
	if len(s.List(SPFReject)) > 0 && !spf {
		ps = append(ps, Problem{File: "control/spfreject", What: "lists domains, but control/spfcheck is not 1: nothing would be refused",
			Fix: "write 1 into control/spfcheck, or empty control/spfreject"})
	}
	if dmarc && !(spf && dkim) {
		ps = append(ps, Problem{File: "control/dmarccheck", What: "is 1, but DMARC needs both SPF and DKIM results (control/spfcheck and control/dkimcheck)",
			Fix: "write 1 into control/spfcheck and control/dkimcheck, or 0 into control/dmarccheck"})
	}
	if reject && !dmarc {
		ps = append(ps, Problem{File: "control/dmarcreject", What: "is 1, but control/dmarccheck is not: no DMARC failure would be refused",
			Fix: "write 1 into control/dmarccheck (with spfcheck and dkimcheck), or 0 into control/dmarcreject"})
	}
	return ps
}
