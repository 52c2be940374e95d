package main

import (
	"crypto/tls"
	"os"
	"sync"
	"time"

	"goqmail/internal/logline"
)

// certFile serves control/servercert.pem (private key and certificate
// chain in one PEM file, as qmail's TLS patch) and reloads it when its
// mtime changes, so a renewed certificate needs no restart. A file that
// fails to load keeps the previous certificate in service.
type certFile struct {
	path string
	log  *logline.Logger

	mu    sync.Mutex
	mtime time.Time
	size  int64
	cfg   *tls.Config
}

// Config is the pop3.Server TLS hook: nil while no usable certificate
// exists, so STLS is simply not offered.
func (c *certFile) Config() *tls.Config {
	fi, err := os.Stat(c.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		return c.cfg
	}
	if c.cfg != nil && fi.ModTime().Equal(c.mtime) && fi.Size() == c.size {
		return c.cfg
	}
	c.mtime, c.size = fi.ModTime(), fi.Size()
	cert, err := tls.LoadX509KeyPair(c.path, c.path)
	if err != nil {
		c.log.Printf("warning: %s: %v", c.path, err)
		return c.cfg
	}
	c.cfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	c.log.Printf("status: certificate loaded from %s", c.path)
	return c.cfg
}
