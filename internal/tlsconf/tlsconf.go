// Package tlsconf serves the server certificate of control/servercert.pem
// (one PEM file holding the private key and the certificate chain, as the
// qmail TLS patch reads it) to crypto/tls, rereading the file when it
// changes so a renewed certificate is used without a restart.
//
// SECURITY: the file holds the private key; it is read by the network
// programs (0640 root:goqmailnf) and never written here. Only TLS 1.2 and
// newer are offered, since passwords travel over these connections
// (RFC 8314 section 4.1, RFC 8996 deprecating TLS 1.0 and 1.1).
package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Store holds the certificate read from one file and rereads it when the
// file's modification time or size changes. It is safe for concurrent use.
type Store struct {
	path string

	// Warn, when set before the first handshake, is told about a changed
	// file that could not be loaded; the previous certificate stays in
	// use, so a half-written or broken renewal never takes TLS down.
	Warn func(err error)

	mu      sync.Mutex
	cert    *tls.Certificate
	tried   fileStamp // the last version of the file looked at, loaded or not
	config  *tls.Config
	onceCfg sync.Once
}

// fileStamp identifies a version of the file the way make does: by
// modification time, with the size to catch an edit within the same
// timestamp granularity.
type fileStamp struct {
	mtime time.Time
	size  int64
}

func stampOf(fi fs.FileInfo) fileStamp { return fileStamp{fi.ModTime(), fi.Size()} }

// Load reads the key and certificate chain from path. A missing file is
// not an error: the server then has no TLS, and Load returns nil, nil.
func Load(path string) (*Store, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	cert, err := readPair(path)
	if err != nil {
		return nil, err
	}
	return &Store{path: path, cert: cert, tried: stampOf(fi)}, nil
}

// Path is the file the store reads.
func (s *Store) Path() string { return s.path }

// readPair parses the file as both the certificate and the key source:
// tls.X509KeyPair takes the CERTIFICATE blocks from the one and the first
// PRIVATE KEY block from the other, so key and chain may come in any order.
func readPair(path string) (*tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s: %w", path, err)
	}
	return &cert, nil
}

// Certificate returns the current certificate, first rereading the file
// if it changed since it was last looked at. If the file cannot be read or
// parsed the previous certificate is returned (and Warn told once per
// version of the file); a file that disappeared keeps the last one too.
func (s *Store) Certificate() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return s.cert, nil
	}
	st := stampOf(fi)
	if st == s.tried {
		return s.cert, nil
	}
	s.tried = st
	cert, err := readPair(s.path)
	if err != nil {
		if s.Warn != nil {
			s.Warn(fmt.Errorf("%w; keeping the previous certificate", err))
		}
		return s.cert, nil
	}
	s.cert = cert
	return s.cert, nil
}

// Config returns the server configuration: TLS 1.2 or newer, the
// certificate from Certificate on every handshake. The same *tls.Config
// is returned each time, so session tickets stay valid across sessions.
func (s *Store) Config() *tls.Config {
	s.onceCfg.Do(func() {
		s.config = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return s.Certificate()
			},
		}
	})
	return s.config
}
