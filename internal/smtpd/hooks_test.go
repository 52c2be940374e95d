package smtpd

import "goqmail/internal/spp"

// The tests may run as root (CI does); their plugins and QMAILQUEUE
// programs are their own scripts.
func init() {
	spp.AllowRoot = true
	filtersAsRoot = true
}
