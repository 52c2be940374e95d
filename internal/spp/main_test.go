package spp

// The tests may run as root (CI does); the plugins here are the tests'.
func init() { AllowRoot = true }
