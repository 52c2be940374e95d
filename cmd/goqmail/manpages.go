package main

import (
	"strings"

	"goqmail/internal/helptext"
	"goqmail/internal/manpage"
)

// manPages are the manual: goqmail(8), one page per command of the table
// (goqmail-COMMAND(8); goqmail-queue(8) is `goqmail queue`, the queue
// daemon has no page), and the programs an administrator runs or links.
// Each page is the text --help prints (internal/manpage); docs/man holds
// a copy that TestManPagesUpToDate keeps current.
func manPages() []manpage.Page {
	see := []string{"goqmail(8)", "goqmaild(8)"}
	pages := []manpage.Page{{Name: "goqmail", Section: "8", Summary: "administer a goqmail mail server", Help: mainUsage(),
		SeeAlso: []string{"goqmaild(8)", "goqmail-sendmail(8)", "goqmail-metrics(8)"}}}
	for _, c := range commands {
		summary := c.summary
		if i := strings.Index(summary, "  "); i >= 0 {
			summary = strings.TrimSpace(summary[i:])
		}
		pages = append(pages, manpage.Page{Name: "goqmail-" + c.name, Section: "8", Summary: summary, Help: c.usage, SeeAlso: see})
	}
	pages = append(pages,
		manpage.Page{Name: "goqmaild", Section: "8", Summary: "start and supervise a goqmail server", Help: helptext.Goqmaild,
			SeeAlso: []string{"goqmail(8)", "goqmail-metrics(8)"}},
		manpage.Page{Name: "goqmail-sendmail", Section: "8", Summary: "the sendmail, mailq and newaliases of goqmail", Help: helptext.Sendmail, SeeAlso: see},
		manpage.Page{Name: "goqmail-metrics", Section: "8", Summary: "serve goqmail's Prometheus metrics", Help: helptext.Metrics, SeeAlso: see},
		manpage.Page{Name: "goqmail-qmail-queue", Section: "8", Summary: "the qmail-queue of goqmail, for QMAILQUEUE filters", Help: helptext.QmailQueue, SeeAlso: see},
		manpage.Page{Name: "goqmail-web", Section: "8", Summary: "serve goqmail's webmail, self-service and web administration", Help: helptext.Web, SeeAlso: see},
		manpage.Page{Name: "goqmail-vacation", Section: "8", Summary: "the vacation autoresponder of goqmail's webmail", Help: helptext.Vacation, SeeAlso: see},
	)
	return pages
}

// renderedPages maps each page's file name to its text.
func renderedPages() map[string]string {
	m := map[string]string{}
	for _, p := range manPages() {
		m[p.File()] = manpage.Render(p)
	}
	return m
}
