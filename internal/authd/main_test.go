package authd

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if templateDirOnce != nil {
		os.RemoveAll(templateDirOnce())
	}
	os.Exit(code)
}
