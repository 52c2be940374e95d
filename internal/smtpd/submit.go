package smtpd

import "goqmail/internal/submit"

// takeQueue lends a session a queue connection.
func (s *Server) takeQueue() *submit.Conn {
	select {
	case q := <-s.qpool:
		return q
	default:
		return &submit.Conn{Path: s.SubmitSocket, Network: true}
	}
}

// giveQueue takes a connection back after the queue answered (or the
// message was aborted); a broken one is closed.
func (s *Server) giveQueue(q *submit.Conn) {
	if q.Broken() {
		q.Close()
		return
	}
	select {
	case s.qpool <- q:
	default:
		q.Close()
	}
}
