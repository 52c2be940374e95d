package smtp

// hopMatcher recognizes, across chunk boundaries, a header line whose
// field name is Received or Delivered-To: the name (any case), optional
// spaces or tabs, then ':'. qmail-smtpd counts these lines for loop
// detection (it compares only the first 8 or 9 bytes, which would also
// count "Received-SPF:"; we match the whole field name). Lines are matched
// as stored, after a leading dot is unstuffed. Folded lines begin with
// white space and so never match.
type hopMatcher struct {
	active bool
	name   string // the candidate field name, "" before the first byte
	pos    int    // bytes of name matched
}

func (h *hopMatcher) begin() { *h = hopMatcher{active: true} }

// feed takes the next bytes of the line and reports whether they
// completed a hop header. The matcher turns inactive once decided, so most
// header lines cost one byte of work.
func (h *hopMatcher) feed(p []byte) bool {
	for _, c := range p {
		if h.name == "" || h.pos < len(h.name) {
			c = lowerASCII(c)
			if h.name == "" {
				switch c {
				case 'r':
					h.name = "received"
				case 'd':
					h.name = "delivered-to"
				default:
					h.active = false
					return false
				}
			}
			if c != h.name[h.pos] {
				h.active = false
				return false
			}
			h.pos++
			continue
		}
		switch c {
		case ' ', '\t':
		case ':':
			h.active = false
			return true
		default:
			h.active = false
			return false
		}
	}
	return false
}
